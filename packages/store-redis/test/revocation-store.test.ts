import { describe, expect, it } from 'vitest'
import { drivers, useRedis } from './redis-clients.js'

const NOW = 1_700_000_000

describe.each(drivers)('revocations on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('decides from the caller’s now even when expiresAt is long past for the Redis clock', async () => {
    const { stores, clients, prefix } = redis()
    await stores[0].revocations.revoke('jti-1', NOW + 3600)
    expect(await stores[1].revocations.isRevoked('jti-1', NOW)).toBe(true)
    expect(await stores[1].revocations.isRevoked('jti-1', NOW + 3599)).toBe(true)
    expect(await stores[1].revocations.isRevoked('jti-1', NOW + 3600)).toBe(false)
    expect(await stores[1].revocations.isRevoked('jti-2', NOW)).toBe(false)
    const ttl = (await clients[0].call('TTL', `${prefix}revoked:jti-1`)) as number
    expect(ttl).toBeGreaterThan(0)
  })

  it('expires an entry at expiresAt (plus a skew margin) on the Redis clock', async () => {
    const { stores, clients, prefix } = redis()
    const serverNow = Number(((await clients[0].call('TIME')) as string[])[0])
    await stores[0].revocations.revoke('jti-future', serverNow + 7200)
    const ttl = (await clients[0].call('TTL', `${prefix}revoked:jti-future`)) as number
    expect(ttl).toBeGreaterThan(7200)
    expect(ttl).toBeLessThanOrEqual(7200 + 300)
  })

  it('keeps the later expiry when revoked twice', async () => {
    const { stores } = redis()
    await stores[0].revocations.revoke('jti', NOW + 100)
    await stores[1].revocations.revoke('jti', NOW + 50)
    expect(await stores[0].revocations.isRevoked('jti', NOW + 99)).toBe(true)
  })
})
