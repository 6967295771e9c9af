import type { RevocationStore } from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'

/**
 * Seconds an entry outlives `expiresAt` before Redis drops it, for clock skew between the callers
 * and Redis.
 */
const RETENTION_SECONDS = 300

/**
 * One string per revoked `jti`, holding its `expiresAt`. `isRevoked` compares it with the
 * caller's `now`; the key's own expiry (`EXPIREAT`) only frees memory. `revoke()` has no `now`, so
 * this is the one place the store reads the Redis clock (`TIME`): an `expiresAt` already in the
 * past for Redis still keeps the entry for `RETENTION_SECONDS` instead of deleting it at once,
 * which keeps callers whose clock lags behind (and tests with fixed times) correct.
 * KEYS: entry. ARGV: expiresAt, retention. A second revocation keeps the later expiry.
 */
const revoke = defineScript(`
local expiresAt = tonumber(ARGV[1])
local previous = tonumber(redis.call('GET', KEYS[1]))
if previous and previous > expiresAt then expiresAt = previous end
local serverNow = tonumber(redis.call('TIME')[1])
local dropAt = math.max(expiresAt, serverNow) + tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%d', expiresAt), 'EXAT', string.format('%d', dropAt))
return 1
`)

/** Revoked access tokens, one key each, dropped by Redis after they would have expired anyway. */
export function createRevocationStore(client: RedisClient, names: KeyNames): RevocationStore {
  return {
    async revoke(jti, expiresAt) {
      await runScript(
        client,
        revoke,
        [names.revocation(jti)],
        [Math.ceil(expiresAt), RETENTION_SECONDS],
      )
    },

    async isRevoked(jti, now) {
      const expiresAt = await client.call('GET', names.revocation(jti))
      return typeof expiresAt === 'string' && Number(expiresAt) > now
    },
  }
}
