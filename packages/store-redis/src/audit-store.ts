import type { AuditEvent, AuditStore } from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { ResolvedRedisStoreOptions } from './options.js'

/**
 * Capped lists, newest first: every event, and the events of one key (which expires
 * `auditKeyTtlSeconds` after its last event). The number of per-key lists is capped too, since
 * key ids come from requests (an unauthenticated caller can present any number of them): a
 * sorted set names every list, scored by the shared sequence at its latest event, and past
 * `maxAuditKeys` the least recently written lists are deleted. One script writes everything, so
 * the lists and the index never disagree.
 * KEYS: log[, log of key, index, sequence]. ARGV: event, max, max per key, ttl per key, max keys,
 * key id, prefix of the per-key lists.
 */
const write = defineScript(`
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if KEYS[2] then
  local ttl = tonumber(ARGV[4])
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[6])
  redis.call('EXPIRE', KEYS[3], ttl)
  local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
  if excess > 0 then
    local oldest = redis.call('ZPOPMIN', KEYS[3], excess)
    for i = 1, #oldest, 2 do redis.call('DEL', ARGV[7] .. oldest[i]) end
  end
end
return 1
`)

/** The audit log as capped Redis lists. */
export function createAuditStore(
  {
    client,
    maxAuditEvents,
    maxAuditEventsPerKey,
    auditKeyTtlSeconds,
    maxAuditKeys,
  }: ResolvedRedisStoreOptions,
  names: KeyNames,
): AuditStore {
  return {
    async write(event) {
      const keys =
        event.keyId === undefined
          ? [names.auditLog]
          : [names.auditLog, names.auditLogOfKey(event.keyId), names.auditKeyIndex, names.sequence]
      await runScript(client, write, keys, [
        JSON.stringify(event),
        maxAuditEvents,
        maxAuditEventsPerKey,
        auditKeyTtlSeconds,
        maxAuditKeys,
        event.keyId ?? '',
        names.auditLogOfKeyPrefix,
      ])
    },

    async tail({ keyId, limit }) {
      if (!(limit > 0)) return []
      const list = keyId === undefined ? names.auditLog : names.auditLogOfKey(keyId)
      const entries = await client.call('LRANGE', list, 0, Math.floor(limit) - 1)
      if (!Array.isArray(entries)) throw new TypeError('unexpected Redis reply')
      return entries.map((entry) => JSON.parse(String(entry)) as AuditEvent).reverse()
    },
  }
}
