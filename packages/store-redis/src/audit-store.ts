import type { AuditEvent, AuditStore } from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { ResolvedRedisStoreOptions } from './options.js'

/**
 * Two capped lists, newest first: every event, and the events of one key (which expires
 * `auditKeyTtlSeconds` after its last event). One script writes both, so they never disagree.
 * KEYS: log[, log of key]. ARGV: event, max, max per key, ttl per key.
 */
const write = defineScript(`
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if KEYS[2] then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return 1
`)

/** The audit log as capped Redis lists. */
export function createAuditStore(
  { client, maxAuditEvents, maxAuditEventsPerKey, auditKeyTtlSeconds }: ResolvedRedisStoreOptions,
  names: KeyNames,
): AuditStore {
  return {
    async write(event) {
      const keys =
        event.keyId === undefined
          ? [names.auditLog]
          : [names.auditLog, names.auditLogOfKey(event.keyId)]
      await runScript(client, write, keys, [
        JSON.stringify(event),
        maxAuditEvents,
        maxAuditEventsPerKey,
        auditKeyTtlSeconds,
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
