/**
 * Every Redis key the store uses, all under one prefix. Each kind has its own segment ending in
 * `:` before any caller-supplied id, so ids (which may contain anything) never collide across kinds.
 */
export interface KeyNames {
  /** Shared insertion counter, used to order records created in the same second. */
  sequence: string
  /** Hash of one API key record. */
  apiKey(key: string): string
  /** Sorted set of every API key id (score: insertion sequence). */
  apiKeyIndex: string
  /** Prefix of signing key hashes (scripts append the kid). */
  signingKeyPrefix: string
  /** Sorted set of every signing key kid (score: insertion sequence). */
  signingKeyIndex: string
  /** The kid of the active signing key of `alg`. */
  activeSigningKey(alg: string): string
  /** Hash of one refresh token, by its hash. */
  refreshToken(hash: string): string
  /** Prefix of refresh token family hashes (scripts append the family id). */
  refreshFamilyPrefix: string
  /**
   * Prefix of the per-API-key revocation markers (scripts append the key id): a string holding the
   * time `revokeByKey` revoked every family of that key. Never deleted: a revoked key stays revoked.
   */
  refreshKeyRevokedPrefix: string
  /** One revoked access token, by `jti`. */
  revocation(jti: string): string
  /** One fixed-window counter. */
  counter(name: string): string
  /** The capped list of every audit event, newest first. */
  auditLog: string
  /** The capped list of the audit events of one API key, newest first. */
  auditLogOfKey(keyId: string): string
  /** Prefix of the per-key audit lists (scripts append the key id). */
  auditLogOfKeyPrefix: string
  /**
   * Sorted set of the key ids that have a per-key audit list (score: the shared sequence at their
   * latest event), trimmed to `maxAuditKeys` by deleting the least recently written lists.
   */
  auditKeyIndex: string
  /** The pub/sub channel of the change feed (a channel, not a key). */
  changeChannel: string
}

export function keyNames(prefix: string): KeyNames {
  return {
    sequence: `${prefix}seq`,
    apiKey: (key) => `${prefix}apikey:${key}`,
    apiKeyIndex: `${prefix}apikeys`,
    signingKeyPrefix: `${prefix}sigkey:`,
    signingKeyIndex: `${prefix}sigkeys`,
    activeSigningKey: (alg) => `${prefix}sigkey-active:${alg}`,
    refreshToken: (hash) => `${prefix}rt:${hash}`,
    refreshFamilyPrefix: `${prefix}rtfamily:`,
    refreshKeyRevokedPrefix: `${prefix}rtkey-revoked:`,
    revocation: (jti) => `${prefix}revoked:${jti}`,
    counter: (name) => `${prefix}counter:${name}`,
    auditLog: `${prefix}audit`,
    auditLogOfKey: (keyId) => `${prefix}audit-key:${keyId}`,
    auditLogOfKeyPrefix: `${prefix}audit-key:`,
    auditKeyIndex: `${prefix}audit-keys`,
    changeChannel: `${prefix}changes`,
  }
}
