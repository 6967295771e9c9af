import type { SigningKeyRecord, SigningKeyStore } from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'
import { readFields, readNumber, readString, readTime, writeTime } from './reply.js'

/**
 * One hash per signing key: `data` (kid, alg, JWKs and createdAt as JSON), `rotatedAt`,
 * `notAfter` (`''` for null) and `seq`; a sorted set of every kid; and, per `alg`, a string
 * holding the kid of the active key. Scripts return flat arrays of
 * `data, rotatedAt, notAfter, seq` per key.
 */
type ImmutableFields = Omit<SigningKeyRecord, 'rotatedAt' | 'notAfter'>

// Shared Lua: inserts the key described by ARGV[1..4] (kid, data, rotatedAt, notAfter) and, when
// it is active, points KEYS[1] at it. KEYS: active pointer, index, sequence. ARGV[5]: hash prefix.
const insert = `
local function insert()
  local seq = redis.call('INCR', KEYS[3])
  redis.call('HSET', ARGV[5] .. ARGV[1], 'data', ARGV[2], 'rotatedAt', ARGV[3],
    'notAfter', ARGV[4], 'seq', seq)
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
  if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('DEL', KEYS[1]) end
  return { ARGV[2], ARGV[3], ARGV[4], seq }
end
`

const activate = defineScript(`${insert}
local kid = redis.call('GET', KEYS[1])
if kid then
  local f = redis.call('HMGET', ARGV[5] .. kid, 'data', 'rotatedAt', 'notAfter', 'seq')
  if f[1] and f[2] == '' then return f end
end
return insert()
`)

// ARGV[6]: now, ARGV[7]: notAfter for the keys it ends.
const rotate = defineScript(`${insert}
local now = tonumber(ARGV[6])
for _, kid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local notAfter = redis.call('HGET', ARGV[5] .. kid, 'notAfter')
  if not notAfter or (notAfter ~= '' and tonumber(notAfter) <= now) then
    redis.call('DEL', ARGV[5] .. kid)
    redis.call('ZREM', KEYS[2], kid)
  end
end
local active = redis.call('GET', KEYS[1])
if active and redis.call('HGET', ARGV[5] .. active, 'rotatedAt') == '' then
  redis.call('HSET', ARGV[5] .. active, 'rotatedAt', ARGV[6], 'notAfter', ARGV[7])
end
insert()
return 1
`)

// KEYS: index. ARGV: hash prefix.
const list = defineScript(`
local out = {}
for _, kid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. kid, 'data', 'rotatedAt', 'notAfter', 'seq')
  if f[1] then
    for i = 1, 4 do out[#out + 1] = f[i] end
  end
end
return out
`)

interface StoredSigningKey {
  record: SigningKeyRecord
  seq: number
}

function toStored(fields: (string | null)[], offset = 0): StoredSigningKey {
  const data = JSON.parse(readString(fields[offset])) as ImmutableFields
  return {
    record: {
      ...data,
      rotatedAt: readTime(fields[offset + 1]),
      notAfter: readTime(fields[offset + 2]),
    },
    seq: readNumber(fields[offset + 3]),
  }
}

function insertArgs(record: SigningKeyRecord, prefix: string): string[] {
  const data: ImmutableFields = {
    kid: record.kid,
    alg: record.alg,
    publicJwk: record.publicJwk,
    privateJwk: record.privateJwk,
    createdAt: record.createdAt,
  }
  return [
    record.kid,
    JSON.stringify(data),
    writeTime(record.rotatedAt),
    writeTime(record.notAfter),
    prefix,
  ]
}

/** Signing keys: every change is one Lua script, so racing instances agree on the active key. */
export function createSigningKeyStore(client: RedisClient, names: KeyNames): SigningKeyStore {
  const keysFor = (alg: string) => [
    names.activeSigningKey(alg),
    names.signingKeyIndex,
    names.sequence,
  ]
  return {
    async list() {
      const fields = readFields(
        await runScript(client, list, [names.signingKeyIndex], [names.signingKeyPrefix]),
      )
      const stored: StoredSigningKey[] = []
      for (let i = 0; fields && i < fields.length; i += 4) stored.push(toStored(fields, i))
      return stored
        .sort((a, b) => b.record.createdAt - a.record.createdAt || b.seq - a.seq)
        .map((entry) => entry.record)
    },

    async activate(candidate) {
      const reply = await runScript(
        client,
        activate,
        keysFor(candidate.alg),
        insertArgs(candidate, names.signingKeyPrefix),
      )
      const fields = readFields(reply)
      if (!fields) throw new TypeError('unexpected Redis reply')
      return toStored(fields).record
    },

    async rotate(next, now, notAfter) {
      await runScript(client, rotate, keysFor(next.alg), [
        ...insertArgs(next, names.signingKeyPrefix),
        now,
        notAfter,
      ])
    },
  }
}
