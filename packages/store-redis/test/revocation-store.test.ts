import { describe, expect, it } from 'vitest'
import { drivers, useRedis } from './redis-clients.js'

const NOW = 1_700_000_000

describe.each(drivers)('revocations on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('expires an entry relative to the caller’s now, even when that is far behind the Redis clock', async () => {
    const { stores, clients, prefix } = redis()
    // NOW is years behind the Redis clock: an absolute expiry on the Redis clock would drop the
    // entry within minutes, while the caller still accepts the token for an hour.
    await stores[0].revocations.revoke('jti-behind', NOW + 3600, NOW)
    const ttl = (await clients[0].call('TTL', `${prefix}revoked:jti-behind`)) as number
    expect(ttl).toBeGreaterThan(3600)
    expect(ttl).toBeLessThanOrEqual(3600 + 300)
    // A caller whose clock is ahead of expiresAt still keeps it for the skew margin.
    await stores[0].revocations.revoke('jti-past', NOW, NOW + 50)
    const past = (await clients[0].call('TTL', `${prefix}revoked:jti-past`)) as number
    expect(past).toBeGreaterThan(0)
    expect(past).toBeLessThanOrEqual(300)
  })

  it('without now, keeps an entry until expiresAt on the Redis clock plus a day', async () => {
    const { stores, clients, prefix } = redis()
    const serverNow = Number(((await clients[0].call('TIME')) as string[])[0])
    await stores[0].revocations.revoke('jti-future', serverNow + 7200)
    const ttl = (await clients[0].call('TTL', `${prefix}revoked:jti-future`)) as number
    expect(ttl).toBeGreaterThan(7200 + 86_400 - 60)
    expect(ttl).toBeLessThanOrEqual(7200 + 86_400)
    // An expiresAt long past on the Redis clock still gets an expiry, not an immediate deletion.
    await stores[0].revocations.revoke('jti-past', NOW + 3600)
    expect(await clients[0].call('TTL', `${prefix}revoked:jti-past`)).toBeGreaterThan(0)
  })

  it('a repeat with an earlier expiry does not shorten the entry’s TTL', async () => {
    const { stores, clients, prefix } = redis()
    await stores[0].revocations.revoke('jti', NOW + 3600, NOW)
    await stores[1].revocations.revoke('jti', NOW + 100, NOW + 50)
    const ttl = (await clients[0].call('TTL', `${prefix}revoked:jti`)) as number
    expect(ttl).toBeGreaterThan(3600)
  })
})
