import { describe, expect, it } from 'vitest'
import { drivers, useRedis } from './redis-clients.js'

const NOW = 1_700_000_000

describe.each(drivers)('counters on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('counts 50 concurrent increments across two connections exactly once each', async () => {
    const { stores } = redis()
    const values = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 2]!.counters.increment('fail:k:ip', 60, NOW)),
    )
    expect(values.map((v) => v.count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    expect(new Set(values.map((v) => v.resetAt))).toEqual(new Set([NOW + 60]))
    expect(await stores[1].counters.get('fail:k:ip', NOW + 59)).toEqual({
      count: 50,
      resetAt: NOW + 60,
    })
  })

  it('starts a new window from the caller’s now, not from the Redis clock', async () => {
    const { stores, clients, prefix } = redis()
    await stores[0].counters.increment('c', 60, NOW)
    await stores[0].counters.increment('c', 60, NOW + 30)
    expect(await stores[0].counters.get('c', NOW + 60)).toBeUndefined()
    expect(await stores[0].counters.increment('c', 60, NOW + 60)).toEqual({
      count: 1,
      resetAt: NOW + 120,
    })
    const ttl = (await clients[1].call('TTL', `${prefix}counter:c`)) as number
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60 + 60)
    await stores[1].counters.delete('c')
    expect(await stores[0].counters.get('c', NOW)).toBeUndefined()
  })
})
