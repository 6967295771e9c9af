import { base64url, constantTimeEqual, sha256, utf8 } from '../internal/encoding.js'
import type { SecretHash } from '../stores/types.js'

/**
 * Hashes secrets for storage and checks presented ones. With a pepper, HMAC-SHA-256 (a stolen
 * database alone cannot check guesses); without, SHA-256. Secrets carry 256 random bits, so a fast
 * hash is enough: there is nothing to brute-force.
 */
export interface SecretHasher {
  hash(secret: string): Promise<string>
  /** True if `secret` matches one of `hashes` still valid at `now`. Costs the same for no hashes. */
  verify(secret: string, hashes: readonly SecretHash[], now: number): Promise<boolean>
}

// A stand-in compared against when a key does not exist, so that lookup misses cost the same.
const DUMMY: SecretHash = { hash: `sha256:${'A'.repeat(43)}`, expiresAt: null }

export function createSecretHasher(pepper?: string): SecretHasher {
  const hmacKey = pepper
    ? crypto.subtle.importKey('raw', utf8(pepper), { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
      ])
    : undefined

  async function digest(secret: string): Promise<Uint8Array> {
    if (!hmacKey) return sha256(secret)
    return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey, utf8(secret)))
  }
  const prefix = pepper ? 'hmac-sha256:' : 'sha256:'

  return {
    async hash(secret) {
      return prefix + base64url(await digest(secret))
    },
    async verify(secret, hashes, now) {
      const presented = utf8(prefix + base64url(await digest(secret)))
      const candidates = hashes.length > 0 ? hashes : [DUMMY]
      let matched = false
      for (const candidate of candidates) {
        const live = candidate.expiresAt === null || candidate.expiresAt > now
        // Compare every candidate (no early exit) so timing does not tell which one matched.
        const equal = constantTimeEqual(presented, utf8(candidate.hash))
        matched = (equal && live && hashes.length > 0) || matched
      }
      return matched
    },
  }
}
