import type { RevocationStore } from '@apimw/core'
import { RETENTION_SECONDS } from './expiry.js'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'

/**
 * Margin added when `revoke()` gets no `now`: the entry then lives until `expiresAt` by the Redis
 * clock plus one day, so that a caller whose clock differs from Redis's by less than a day never
 * loses a live revocation.
 */
const NO_NOW_MARGIN_SECONDS = 86_400

/**
 * One string per revoked `jti`, holding its `expiresAt`. `isRevoked` compares it with the caller's
 * `now`; the key's own expiry only frees memory. That expiry is relative (`EX`): `expiresAt - now`
 * by the caller's clock plus `RETENTION_SECONDS`, like refresh tokens and counters, so a caller
 * whose clock is behind Redis's still keeps the entry as long as its tokens live. Without `now`
 * (an older caller), the script reads the Redis clock and adds a one-day margin instead.
 * A repeat keeps the later expiry and never shortens the key's remaining life.
 * KEYS: entry. ARGV: expiresAt, now (`''` if unknown), retention, margin without now.
 */
const revoke = defineScript(`
local expiresAt = tonumber(ARGV[1])
local previous = tonumber(redis.call('GET', KEYS[1]))
if previous and previous > expiresAt then expiresAt = previous end
local now = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
if not now then
  now = tonumber(redis.call('TIME')[1])
  margin = tonumber(ARGV[4])
end
local ttl = math.max(0, expiresAt - now) + margin
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], string.format('%d', expiresAt), 'EX', string.format('%d', ttl))
return 1
`)

/** Revoked access tokens, one key each, dropped by Redis after they would have expired anyway. */
export function createRevocationStore(client: RedisClient, names: KeyNames): RevocationStore {
  return {
    async revoke(jti, expiresAt, now) {
      await runScript(
        client,
        revoke,
        [names.revocation(jti)],
        [
          Math.ceil(expiresAt),
          now === undefined ? '' : Math.floor(now),
          RETENTION_SECONDS,
          NO_NOW_MARGIN_SECONDS,
        ],
      )
    },

    async isRevoked(jti, now) {
      const expiresAt = await client.call('GET', names.revocation(jti))
      return typeof expiresAt === 'string' && Number(expiresAt) > now
    },
  }
}
