import type { CounterStore, CounterValue } from '@apimw/core'
import type { KeyNames } from './key-names.js'
import { defineScript, runScript } from './lua-script.js'
import type { RedisClient } from './options.js'
import { readFields, readNumber } from './reply.js'

/** Seconds a counter outlives its window in Redis, for clock skew between callers and Redis. */
const SKEW_SECONDS = 60

/**
 * A counter is a hash `count resetAt`. The window is decided from the caller's `now` and the
 * stored `resetAt`; the key expires (relative `EXPIRE`: the window's length plus a skew margin)
 * only to free memory, so a window never depends on the Redis clock.
 * KEYS: counter. ARGV: windowSeconds, now, now + windowSeconds, skew margin.
 */
const increment = defineScript(`
local window = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local resetAt = tonumber(redis.call('HGET', KEYS[1], 'resetAt'))
if resetAt and resetAt > now then
  local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
  return { tostring(count), redis.call('HGET', KEYS[1], 'resetAt') }
end
local nextResetAt = ARGV[3]
redis.call('HSET', KEYS[1], 'count', 1, 'resetAt', nextResetAt)
redis.call('EXPIRE', KEYS[1], math.max(1, math.ceil(window)) + tonumber(ARGV[4]))
return { '1', nextResetAt }
`)

const toValue = (fields: (string | null)[]): CounterValue => ({
  count: readNumber(fields[0]),
  resetAt: readNumber(fields[1]),
})

/** Fixed-window counters: one Lua script per increment, atomic across every client. */
export function createCounterStore(client: RedisClient, names: KeyNames): CounterStore {
  return {
    async increment(name, windowSeconds, now) {
      const fields = readFields(
        await runScript(
          client,
          increment,
          [names.counter(name)],
          [windowSeconds, now, String(now + windowSeconds), SKEW_SECONDS],
        ),
      )
      if (!fields) throw new TypeError('unexpected Redis reply')
      return toValue(fields)
    },

    async get(name, now) {
      const fields = readFields(await client.call('HMGET', names.counter(name), 'count', 'resetAt'))
      if (!fields || fields[0] === null || fields[1] === null) return undefined
      const value = toValue(fields)
      return value.resetAt > now ? value : undefined
    },

    async delete(name) {
      await client.call('DEL', names.counter(name))
    },
  }
}
