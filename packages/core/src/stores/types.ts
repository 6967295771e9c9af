/**
 * Store interfaces. Every timestamp is a whole number of seconds since the Unix epoch (like JWT
 * NumericDate); every method that depends on time takes `now` from the caller, so stores never
 * read a clock of their own. Each interface is small on purpose: a store package implements all of
 * them, a team that brings its own key table implements only {@link ApiKeyReader}.
 */
import type { JWK } from 'jose'

/** `test` keys never work on a `live` server and the reverse. */
export type Environment = 'test' | 'live'

/** A hash of one secret of an API key, as kept at rest. */
export interface SecretHash {
  /** `sha256:<base64url>` or `hmac-sha256:<base64url>`: never the secret itself. */
  hash: string
  /** When this secret stops working (a rotated-out secret in its grace period), or `null`. */
  expiresAt: number | null
}

/** One API key as kept at rest. `key` is the public id (`apimw_<env>_<id>`) and the record's id. */
export interface ApiKeyRecord {
  key: string
  name: string
  environment: Environment
  scopes: string[]
  /** IP addresses and CIDR ranges (IPv4 and IPv6) the key may be used from; empty: any. */
  allowedIps: string[]
  /** The current secret first; during a rotation grace period, the previous one second. */
  secrets: SecretHash[]
  createdAt: number
  expiresAt: number | null
  revokedAt: number | null
  lastUsedAt: number | null
  metadata: Record<string, unknown>
}

/**
 * The one method APIMW needs from a team's own key table: a read-only store implements just this.
 * Keys from such a store cannot be created, rotated or revoked through APIMW.
 */
export interface ApiKeyReader {
  /** The record with this key id, or `undefined`. Must not throw for an unknown or malformed id. */
  get(key: string): Promise<ApiKeyRecord | undefined>
}

/** Full key management. */
export interface ApiKeyStore extends ApiKeyReader {
  /** Inserts a new record. Atomic; rejects with an `Error` if the key id exists (never overwrites). */
  create(record: ApiKeyRecord): Promise<void>
  /** Every record, by `createdAt` then insertion order. */
  list(): Promise<ApiKeyRecord[]>
  /**
   * Atomically makes `next` the current secret and keeps the current one, expiring at
   * `previousExpiresAt`, as the previous one (an older previous secret is dropped). Returns the
   * updated record, or `undefined` (and changes nothing) if the key does not exist or is revoked.
   * Idempotent: when `next` is the current secret already (a retried call), nothing changes.
   */
  rotateSecret(
    key: string,
    next: SecretHash,
    previousExpiresAt: number,
  ): Promise<ApiKeyRecord | undefined>
  /**
   * Atomically sets `revokedAt` if it is not set yet (the first revocation time is kept). Returns the
   * record as it is afterwards, or `undefined` if the key does not exist.
   */
  revoke(key: string, at: number): Promise<ApiKeyRecord | undefined>
  /** Records use: `lastUsedAt` becomes `max(lastUsedAt, at)`. Best effort; may be batched. */
  touch(key: string, at: number): Promise<void>
}

/** A JWS signing key. Private material is kept in the store so that every instance signs alike. */
export interface SigningKeyRecord {
  kid: string
  alg: string
  /** The public JWK (for HS256, the secret JWK: it is never published). */
  publicJwk: JWK
  privateJwk: JWK
  createdAt: number
  /** When the key stopped signing new tokens (rotation), or `null` while it is the active key. */
  rotatedAt: number | null
  /** When tokens signed by this key stop verifying and it leaves the JWKS, or `null` while active. */
  notAfter: number | null
}

export interface SigningKeyStore {
  /** Every key, newest first (including rotated ones, until they are removed). */
  list(): Promise<SigningKeyRecord[]>
  /**
   * Atomically inserts `candidate` as the active key unless an active key (rotatedAt `null`) with
   * the same `alg` exists; returns whichever is active afterwards. Lets racing instances agree.
   */
  activate(candidate: SigningKeyRecord): Promise<SigningKeyRecord>
  /**
   * Atomically ends every active key of `next.alg` (sets `rotatedAt = now` and `notAfter`) and
   * inserts `next` as the active key. Keys whose `notAfter` has passed may be deleted.
   */
  rotate(next: SigningKeyRecord, now: number, notAfter: number): Promise<void>
}

/** A refresh token as kept at rest, joined with its family. */
export interface RefreshTokenRecord {
  /** Hash of the opaque token (`sha256:<base64url>`); the token itself is never stored. */
  hash: string
  familyId: string
  keyId: string
  /** The scopes granted to the family (a refresh may ask for fewer for its access token). */
  scopes: string[]
  environment: Environment
  issuedAt: number
  /** Absolute expiry of the whole family, fixed when the family starts. */
  expiresAt: number
  /** When this token was exchanged, or `null` while unused. */
  usedAt: number | null
  /** When the family was revoked (logout, reuse, key revoked), or `null`. */
  familyRevokedAt: number | null
}

export type RefreshRotation =
  | { outcome: 'rotated'; previous: RefreshTokenRecord; next: RefreshTokenRecord }
  /** The token had been used already: the family is now revoked. */
  | { outcome: 'reused'; previous: RefreshTokenRecord }
  /** Unknown token, revoked family or expired family: nothing changed. */
  | { outcome: 'invalid' }

export interface RefreshTokenStore {
  /** Starts a new family with its first token. Rejects (changing nothing) if the hash or family exists. */
  create(record: RefreshTokenRecord): Promise<void>
  /** The token and its family, or `undefined`. No side effect. */
  find(hash: string): Promise<RefreshTokenRecord | undefined>
  /**
   * The single atomic step of a refresh. If the token exists, is unused, its family is not revoked
   * and `now < expiresAt`: marks it used at `now` and inserts `nextHash` into the same family (same
   * keyId, scopes, environment and expiresAt; issuedAt `now`) → `rotated`. If it was used already:
   * revokes the family at `now` → `reused`, except that a repeat of the call that used it (same
   * `nextHash`: a retry after a lost reply) answers `rotated` again and changes nothing. Otherwise →
   * `invalid`. Of N concurrent calls with the same hash and distinct `nextHash`es, at most one
   * returns `rotated`, across every process sharing the store.
   */
  rotate(hash: string, nextHash: string, now: number): Promise<RefreshRotation>
  /** Revokes the family (idempotent; the first revocation time is kept). */
  revokeFamily(familyId: string, at: number): Promise<void>
  /** Revokes every family of the key. */
  revokeByKey(keyId: string, at: number): Promise<void>
}

/** Revoked access tokens, by `jti`, kept until the token would have expired anyway. */
export interface RevocationStore {
  /**
   * Marks `jti` revoked; the entry may be dropped after `expiresAt`, never before. Idempotent: a
   * repeat keeps the later expiry. `now` (the caller's time) lets a bounded store drop expired
   * entries; a store that cannot keep a live revocation must reject, never evict it.
   */
  revoke(jti: string, expiresAt: number, now?: number): Promise<void>
  isRevoked(jti: string, now: number): Promise<boolean>
}

export interface CounterValue {
  count: number
  /** When the window ends and the counter starts again from zero. */
  resetAt: number
}

/** Fixed-window counters (rate limits). */
export interface CounterStore {
  /**
   * Atomically adds 1 to `name`; a counter that does not exist or whose window has ended starts a
   * new window of `windowSeconds` at `now`. Atomic across every process sharing the store.
   */
  increment(name: string, windowSeconds: number, now: number): Promise<CounterValue>
  /** The live counter, or `undefined` if none or its window has ended. */
  get(name: string, now: number): Promise<CounterValue | undefined>
  delete(name: string): Promise<void>
}

export type AuditEventType =
  | 'key.created'
  | 'key.rotated'
  | 'key.revoked'
  | 'token.issued'
  | 'token.refreshed'
  | 'token.revoked'
  | 'auth.failed'
  | 'refresh.reused'
  | 'request.denied'
  | 'request.allowed'
  | 'signing_key.rotated'
  | 'store.failed'

/** One security decision. Never holds a secret or a whole token. */
export interface AuditEvent {
  type: AuditEventType
  /** ISO 8601 time. */
  at: string
  keyId?: string
  ip?: string
  reason?: string
  requestId?: string
  details?: Record<string, unknown>
}

/** Where audit events go. A rejected `write` is caught and reported through `onError`, never fatal to a request. */
export interface AuditSink {
  write(event: AuditEvent): Promise<void> | void
}

/** An audit sink that can be read back (`apimw audit tail`). */
export interface AuditStore extends AuditSink {
  /** The newest `limit` events (optionally of one key), oldest first; none when `limit` <= 0. */
  tail(options: { keyId?: string; limit: number }): Promise<AuditEvent[]>
}

/** A change that other instances sharing the store should see before their caches expire. */
export type StoreChange =
  | { kind: 'key'; keyId: string }
  | { kind: 'access_token'; jti: string }
  | { kind: 'signing_keys' }

/**
 * Pushes changes between the instances sharing a store (Redis pub/sub, PostgreSQL LISTEN/NOTIFY),
 * so a revocation made on one is seen by all at once. Optional: without it (or when a notification
 * is lost) instances see changes within `cacheTtl` seconds.
 */
export interface ChangeFeed {
  /** Tells every subscriber, in every process, including this one. Best effort. */
  publish(change: StoreChange): Promise<void>
  /** Calls `listener` for each change published from now on; returns a function that stops it. */
  subscribe(listener: (change: StoreChange) => void): () => void
}

/** Everything APIMW keeps. A store package returns one of these. */
export interface ApimwStore {
  keys: ApiKeyStore
  signingKeys: SigningKeyStore
  refreshTokens: RefreshTokenStore
  revocations: RevocationStore
  counters: CounterStore
  audit: AuditStore
  /** Cross-instance cache invalidation; optional. */
  changes?: ChangeFeed
  /** Releases what the store opened itself (not a client the caller passed in). */
  close?(): Promise<void>
}
