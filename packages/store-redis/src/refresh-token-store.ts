import type {
  Environment,
  RefreshRotation,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'
import type { Fields } from './reply.js'
import { readFields, readNumber, readString, readTime, writeTime } from './reply.js'

/**
 * Seconds a token or family outlives its expiry before Redis drops it (clock skew between the
 * callers and Redis). Expiry is relative (`EXPIRE`, computed from the caller's `now`), so that the
 * decision itself never depends on the Redis clock.
 */
const RETENTION_SECONDS = 300

/**
 * A token is a hash (`familyId keyId scopes environment issuedAt expiresAt usedAt`), a family is a
 * hash (`keyId expiresAt revokedAt`), and each API key has a sorted set of its family ids (score:
 * family expiry) for `revokeByKey`. Scripts that read a token return its 7 fields followed by the
 * family's `revokedAt`.
 */
const TOKEN_FIELDS =
  "'familyId', 'keyId', 'scopes', 'environment', 'issuedAt', 'expiresAt', 'usedAt'"

// KEYS: token, family, families of key. ARGV: familyId keyId scopes environment issuedAt expiresAt
// usedAt familyRevokedAt ttl.
const create = defineScript(`
local ttl = tonumber(ARGV[9])
redis.call('HSET', KEYS[2], 'keyId', ARGV[2], 'expiresAt', ARGV[6], 'revokedAt', ARGV[8])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], 'familyId', ARGV[1], 'keyId', ARGV[2], 'scopes', ARGV[3],
  'environment', ARGV[4], 'issuedAt', ARGV[5], 'expiresAt', ARGV[6], 'usedAt', ARGV[7])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
if redis.call('TTL', KEYS[3]) < ttl then redis.call('EXPIRE', KEYS[3], ttl) end
return 1
`)

// KEYS: token. ARGV: family prefix.
const find = defineScript(`
local t = redis.call('HMGET', KEYS[1], ${TOKEN_FIELDS})
if not t[1] then return nil end
local revokedAt = redis.call('HGET', ARGV[1] .. t[1], 'revokedAt')
if not revokedAt then return nil end
t[8] = revokedAt
return t
`)

// The single atomic step of a refresh. KEYS: token, next token. ARGV: family prefix, now,
// retention seconds. Returns the outcome followed by the token's fields as they are afterwards.
const rotate = defineScript(`
local t = redis.call('HMGET', KEYS[1], ${TOKEN_FIELDS})
if not t[1] then return { 'invalid' } end
local family = ARGV[1] .. t[1]
local revokedAt = redis.call('HGET', family, 'revokedAt')
local now = tonumber(ARGV[2])
if not revokedAt or revokedAt ~= '' or now >= tonumber(t[6]) then return { 'invalid' } end
if t[7] ~= '' then
  redis.call('HSET', family, 'revokedAt', ARGV[2])
  return { 'reused', t[1], t[2], t[3], t[4], t[5], t[6], t[7], ARGV[2] }
end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[2])
redis.call('HSET', KEYS[2], 'familyId', t[1], 'keyId', t[2], 'scopes', t[3],
  'environment', t[4], 'issuedAt', ARGV[2], 'expiresAt', t[6], 'usedAt', '')
redis.call('EXPIRE', KEYS[2], math.max(1, tonumber(t[6]) - now) + tonumber(ARGV[3]))
return { 'rotated', t[1], t[2], t[3], t[4], t[5], t[6], ARGV[2], '' }
`)

// KEYS: family. ARGV: at.
const revokeFamily = defineScript(`
if redis.call('HGET', KEYS[1], 'revokedAt') == '' then
  redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1])
end
return 1
`)

// KEYS: families of key. ARGV: family prefix, at.
const revokeByKey = defineScript(`
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local family = ARGV[1] .. id
  local revokedAt = redis.call('HGET', family, 'revokedAt')
  if not revokedAt then
    redis.call('ZREM', KEYS[1], id)
  elseif revokedAt == '' then
    redis.call('HSET', family, 'revokedAt', ARGV[2])
  end
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
      await runScript(
        client,
        create,
        [
          names.refreshToken(record.hash),
          names.refreshFamilyPrefix + record.familyId,
          names.refreshFamiliesOfKey(record.keyId),
        ],
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
    },

    async find(hash) {
      const fields = readFields(
        await runScript(client, find, [names.refreshToken(hash)], [names.refreshFamilyPrefix]),
      )
      return fields ? toRecord(hash, fields) : undefined
    },

    async rotate(hash, nextHash, now): Promise<RefreshRotation> {
      const fields = readFields(
        await runScript(
          client,
          rotate,
          [names.refreshToken(hash), names.refreshToken(nextHash)],
          [names.refreshFamilyPrefix, now, RETENTION_SECONDS],
        ),
      )
      const outcome = fields?.[0]
      if (!fields || outcome === 'invalid') return { outcome: 'invalid' }
      if (outcome === 'reused') return { outcome, previous: toRecord(hash, fields, 1) }
      if (outcome !== 'rotated') throw new TypeError('unexpected Redis reply')
      const previous = toRecord(hash, fields, 1)
      const next = { ...toRecord(nextHash, fields, 1), issuedAt: now, usedAt: null }
      return { outcome, previous, next }
    },

    async revokeFamily(familyId, at) {
      await runScript(client, revokeFamily, [names.refreshFamilyPrefix + familyId], [at])
    },

    async revokeByKey(keyId, at) {
      await runScript(
        client,
        revokeByKey,
        [names.refreshFamiliesOfKey(keyId)],
        [names.refreshFamilyPrefix, at],
      )
    },
  }
}
