import type { ApiKeyRecord, ApiKeyStore, SecretHash } from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'
import type { Fields } from './reply.js'
import { readFields, readNumber, readString, readTime, writeTime } from './reply.js'

/**
 * One hash per key: `data` (the fields that never change, as JSON), `secrets` (JSON), `revokedAt`
 * and `lastUsedAt` (`''` for null) and `seq` (insertion order). Every script returns
 * `HMGET data secrets revokedAt lastUsedAt seq`.
 */
const FIELDS = "'data', 'secrets', 'revokedAt', 'lastUsedAt', 'seq'"

type ImmutableFields = Omit<ApiKeyRecord, 'secrets' | 'revokedAt' | 'lastUsedAt'>

// KEYS: record, index, sequence. ARGV: key id, data, secrets, revokedAt, lastUsedAt.
const create = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'secrets', ARGV[3], 'revokedAt', ARGV[4],
  'lastUsedAt', ARGV[5], 'seq', seq)
redis.call('ZADD', KEYS[2], seq, ARGV[1])
return 1
`)

// KEYS: record. ARGV: next secret (JSON), previousExpiresAt. Idempotent: when the current secret
// already is the next one, this rotation has run before (a command that timed out may still run,
// and ioredis resends unanswered commands after a reconnect), so it returns the record unchanged
// instead of pushing the old secret out.
const rotateSecret = defineScript(`
local f = redis.call('HMGET', KEYS[1], ${FIELDS})
if not f[1] or f[3] ~= '' then return nil end
local current = cjson.decode(f[2])[1]
if current and current.hash == cjson.decode(ARGV[1]).hash then return f end
local secrets = '[' .. ARGV[1] .. ']'
if current then
  local previous = cjson.encode({ hash = current.hash, expiresAt = tonumber(ARGV[2]) })
  secrets = '[' .. ARGV[1] .. ',' .. previous .. ']'
end
redis.call('HSET', KEYS[1], 'secrets', secrets)
f[2] = secrets
return f
`)

// KEYS: record. ARGV: at.
const revoke = defineScript(`
local f = redis.call('HMGET', KEYS[1], ${FIELDS})
if not f[1] then return nil end
if f[3] == '' then
  redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1])
  f[3] = ARGV[1]
end
return f
`)

// KEYS: record. ARGV: at.
const touch = defineScript(`
local last = redis.call('HGET', KEYS[1], 'lastUsedAt')
if not last then return 0 end
if last == '' or tonumber(last) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1])
end
return 1
`)

const secretHash = ({ hash, expiresAt }: SecretHash): SecretHash => ({ hash, expiresAt })

interface StoredKey {
  record: ApiKeyRecord
  seq: number
}

function toStoredKey(fields: Fields | null): StoredKey | undefined {
  if (!fields || fields[0] === null || fields[0] === undefined) return undefined
  const data = JSON.parse(fields[0]) as ImmutableFields
  return {
    record: {
      ...data,
      secrets: JSON.parse(readString(fields[1])) as SecretHash[],
      revokedAt: readTime(fields[2]),
      lastUsedAt: readTime(fields[3]),
    },
    seq: readNumber(fields[4]),
  }
}

/** API keys: single-key hashes, changed only by Lua scripts (atomic on the server). */
export function createApiKeyStore(client: RedisClient, names: KeyNames): ApiKeyStore {
  const read = async (key: string): Promise<StoredKey | undefined> =>
    toStoredKey(
      readFields(
        await client.call(
          'HMGET',
          names.apiKey(key),
          'data',
          'secrets',
          'revokedAt',
          'lastUsedAt',
          'seq',
        ),
      ),
    )

  return {
    async get(key) {
      return (await read(key))?.record
    },

    async create(record) {
      const data: ImmutableFields = {
        key: record.key,
        name: record.name,
        environment: record.environment,
        scopes: record.scopes,
        allowedIps: record.allowedIps,
        createdAt: record.createdAt,
        expiresAt: record.expiresAt,
        metadata: record.metadata,
      }
      const created = await runScript(
        client,
        create,
        [names.apiKey(record.key), names.apiKeyIndex, names.sequence],
        [
          record.key,
          JSON.stringify(data),
          JSON.stringify(record.secrets.map(secretHash)),
          writeTime(record.revokedAt),
          writeTime(record.lastUsedAt),
        ],
      )
      if (created !== 1) throw new Error(`API key ${record.key} exists`)
    },

    async list() {
      const ids = await client.call('ZRANGE', names.apiKeyIndex, 0, -1)
      if (!Array.isArray(ids)) throw new TypeError('unexpected Redis reply')
      const stored = await Promise.all(ids.map((id) => read(String(id))))
      return stored
        .filter((entry): entry is StoredKey => entry !== undefined)
        .sort((a, b) => a.record.createdAt - b.record.createdAt || a.seq - b.seq)
        .map((entry) => entry.record)
    },

    async rotateSecret(key, next, previousExpiresAt) {
      const reply = await runScript(
        client,
        rotateSecret,
        [names.apiKey(key)],
        [JSON.stringify(secretHash(next)), previousExpiresAt],
      )
      return toStoredKey(readFields(reply))?.record
    },

    async revoke(key, at) {
      return toStoredKey(readFields(await runScript(client, revoke, [names.apiKey(key)], [at])))
        ?.record
    },

    async touch(key, at) {
      await runScript(client, touch, [names.apiKey(key)], [at])
    },
  }
}
