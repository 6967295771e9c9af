import { describe, expect, it } from 'vitest'
import { drivers, useRedis } from './redis-clients.js'

const NOW = 1_700_000_000

describe.each(drivers)('counters on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('expires a window’s key after the window at the caller’s now, not on the Redis clock', async () => {
    const { stores, clients, prefix } = redis()
    // NOW is years behind the Redis clock: an expiry at NOW + 60 on it would drop the key at once.
    await stores[0].counters.increment('c', 60, NOW)
    await stores[0].counters.increment('c', 60, NOW + 30)
    await stores[0].counters.increment('c', 60, NOW + 60)
    const ttl = (await clients[1].call('TTL', `${prefix}counter:c`)) as number
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60 + 60)
  })
})
