import type {
  Environment,
  RefreshRotation,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '@apimw/core'
import { RETENTION_SECONDS } from './expiry.js'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'
import type { Fields } from './reply.js'
import { readFields, readNumber, readString, readTime, writeTime } from './reply.js'

/**
 * A token is a hash (`familyId keyId scopes environment issuedAt expiresAt usedAt replacedBy`), a
 * family is a hash (`keyId expiresAt revokedAt`). `replacedBy` is the hash of the token a rotation
 * issued in exchange for this one (`''` while unused), so that a replayed rotation is recognised.
 *
 * `revokeByKey` writes one marker per API key (`rtkey-revoked:<keyId>`, holding the time, set
 * once and never deleted) instead of touching each family: O(1) whatever the number of families.
 * A family counts as revoked at the earlier of its own `revokedAt` and its key's marker; `find`
 * reports that time and `rotate` refuses such a family. The marker covers every family of the key,
 * including one created after it (e.g. by a token request that raced the key's revocation).
 *
 * Scripts that read a token return its 7 record fields followed by the family's revocation time.
 */
const TOKEN_FIELDS =
  "'familyId', 'keyId', 'scopes', 'environment', 'issuedAt', 'expiresAt', 'usedAt'"

/**
 * Shared Lua: the time a family counts as revoked (`''` if live): the earlier of its own
 * `revokedAt` and the marker of its key.
 */
const effectiveRevokedAt = `
local function effectiveRevokedAt(familyRevokedAt, markerPrefix, keyId)
  local marker = redis.call('GET', markerPrefix .. keyId)
  if not marker then return familyRevokedAt end
  if familyRevokedAt == '' or tonumber(marker) < tonumber(familyRevokedAt) then return marker end
  return familyRevokedAt
end
`

// KEYS: token, family. ARGV: familyId keyId scopes environment issuedAt expiresAt usedAt
// familyRevokedAt ttl. Returns 0, changing nothing, if the token or the family exists.
const create = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = tonumber(ARGV[9])
redis.call('HSET', KEYS[2], 'keyId', ARGV[2], 'expiresAt', ARGV[6], 'revokedAt', ARGV[8])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], 'familyId', ARGV[1], 'keyId', ARGV[2], 'scopes', ARGV[3],
  'environment', ARGV[4], 'issuedAt', ARGV[5], 'expiresAt', ARGV[6], 'usedAt', ARGV[7],
  'replacedBy', '')
redis.call('EXPIRE', KEYS[1], ttl)
return 1
`)

// KEYS: token. ARGV: family prefix, marker prefix.
const find = defineScript(`${effectiveRevokedAt}
local t = redis.call('HMGET', KEYS[1], ${TOKEN_FIELDS})
if not t[1] then return nil end
local revokedAt = redis.call('HGET', ARGV[1] .. t[1], 'revokedAt')
if not revokedAt then return nil end
t[8] = effectiveRevokedAt(revokedAt, ARGV[2], t[2])
return t
`)

// The single atomic step of a refresh. KEYS: token, next token. ARGV: family prefix, marker
// prefix, now, retention seconds, next hash. Returns the outcome followed by the token's fields as
// they are afterwards; 'replayed' adds the next token's issuedAt and usedAt.
//
// Replays are safe: a script can run twice (a command that timed out may still run, and ioredis
// resends unanswered commands after a reconnect). A used token whose replacedBy equals this next
// hash was used by this very rotation: it reports the rotation again and changes nothing. Any
// other use of a used token is a reuse. Only the caller that drew the next token knows its hash.
const rotate = defineScript(`${effectiveRevokedAt}
local t = redis.call('HMGET', KEYS[1], ${TOKEN_FIELDS}, 'replacedBy')
if not t[1] then return { 'invalid' } end
local family = ARGV[1] .. t[1]
local revokedAt = redis.call('HGET', family, 'revokedAt')
local now = tonumber(ARGV[3])
if not revokedAt or effectiveRevokedAt(revokedAt, ARGV[2], t[2]) ~= '' or now >= tonumber(t[6]) then
  return { 'invalid' }
end
if t[7] ~= '' then
  if t[8] == ARGV[5] then
    local n = redis.call('HMGET', KEYS[2], 'issuedAt', 'usedAt')
    if n[1] then return { 'replayed', t[1], t[2], t[3], t[4], t[5], t[6], t[7], '', n[1], n[2] } end
  end
  redis.call('HSET', family, 'revokedAt', ARGV[3])
  return { 'reused', t[1], t[2], t[3], t[4], t[5], t[6], t[7], ARGV[3] }
end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[3], 'replacedBy', ARGV[5])
redis.call('HSET', KEYS[2], 'familyId', t[1], 'keyId', t[2], 'scopes', t[3],
  'environment', t[4], 'issuedAt', ARGV[3], 'expiresAt', t[6], 'usedAt', '', 'replacedBy', '')
redis.call('EXPIRE', KEYS[2], math.max(1, tonumber(t[6]) - now) + tonumber(ARGV[4]))
return { 'rotated', t[1], t[2], t[3], t[4], t[5], t[6], ARGV[3], '' }
`)

// KEYS: family. ARGV: at.
const revokeFamily = defineScript(`
if redis.call('HGET', KEYS[1], 'revokedAt') == '' then
  redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1])
end
return 1
`)

function toRecord(hash: string, fields: Fields, offset = 0): RefreshTokenRecord {
  return {
    hash,
    familyId: readString(fields[offset]),
    keyId: readString(fields[offset + 1]),
    scopes: JSON.parse(readString(fields[offset + 2])) as string[],
    environment: readString(fields[offset + 3]) as Environment,
    issuedAt: readNumber(fields[offset + 4]),
    expiresAt: readNumber(fields[offset + 5]),
    usedAt: readTime(fields[offset + 6]),
    familyRevokedAt: readTime(fields[offset + 7]),
  }
}

/** Refresh tokens and families, each step one Lua script; Redis drops them after their expiry. */
export function createRefreshTokenStore(client: RedisClient, names: KeyNames): RefreshTokenStore {
  return {
    async create(record) {
      const ttl = Math.max(1, Math.ceil(record.expiresAt - record.issuedAt)) + RETENTION_SECONDS
      const created = await runScript(
        client,
        create,
        [names.refreshToken(record.hash), names.refreshFamilyPrefix + record.familyId],
        [
          record.familyId,
          record.keyId,
          JSON.stringify(record.scopes),
          record.environment,
          record.issuedAt,
          record.expiresAt,
          writeTime(record.usedAt),
          writeTime(record.familyRevokedAt),
          ttl,
        ],
      )
      if (created !== 1) throw new Error('refresh token or family exists')
    },

    async find(hash) {
      const fields = readFields(
        await runScript(
          client,
          find,
          [names.refreshToken(hash)],
          [names.refreshFamilyPrefix, names.refreshKeyRevokedPrefix],
        ),
      )
      return fields ? toRecord(hash, fields) : undefined
    },

    async rotate(hash, nextHash, now): Promise<RefreshRotation> {
      const fields = readFields(
        await runScript(
          client,
          rotate,
          [names.refreshToken(hash), names.refreshToken(nextHash)],
          [
            names.refreshFamilyPrefix,
            names.refreshKeyRevokedPrefix,
            now,
            RETENTION_SECONDS,
            nextHash,
          ],
        ),
      )
      const outcome = fields?.[0]
      if (!fields || outcome === 'invalid') return { outcome: 'invalid' }
      if (outcome === 'reused') return { outcome, previous: toRecord(hash, fields, 1) }
      const previous = toRecord(hash, fields, 1)
      if (outcome === 'replayed') {
        const next = {
          ...toRecord(nextHash, fields, 1),
          issuedAt: readNumber(fields[9]),
          usedAt: readTime(fields[10]),
        }
        return { outcome: 'rotated', previous, next }
      }
      if (outcome !== 'rotated') throw new TypeError('unexpected Redis reply')
      const next = { ...toRecord(nextHash, fields, 1), issuedAt: now, usedAt: null }
      return { outcome, previous, next }
    },

    async revokeFamily(familyId, at) {
      await runScript(client, revokeFamily, [names.refreshFamilyPrefix + familyId], [at])
    },

    async revokeByKey(keyId, at) {
      // One marker, set once (NX keeps the first revocation time); see the comment at the top.
      await client.call('SET', names.refreshKeyRevokedPrefix + keyId, String(at), 'NX')
    },
  }
}
