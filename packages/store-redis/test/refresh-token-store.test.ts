import type { RefreshTokenRecord } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { NOW, refreshToken } from '../../../test/stores/records.js'
import { drivers, useRedis } from './redis-clients.js'

const first = (overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord =>
  refreshToken({ hash: 'sha256:first', keyId: 'apimw_test_key1', ...overrides })

describe.each(drivers)('refresh tokens on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('keeps tokens with times far in the past and lets Redis expire them after the family', async () => {
    const { stores, clients, prefix } = redis()
    await stores[0].refreshTokens.create(first())
    const ttl = (await clients[0].call('TTL', `${prefix}rt:sha256:first`)) as number
    expect(ttl).toBeGreaterThan(30 * 86_400)
    expect(ttl).toBeLessThanOrEqual(30 * 86_400 + 300)
  })

  it('revokeByKey writes one marker instead of touching each family, and find reports its time', async () => {
    const { stores, clients, prefix } = redis()
    for (let i = 0; i < 3; i++) {
      await stores[0].refreshTokens.create(first({ hash: `sha256:f${i}`, familyId: `family-${i}` }))
    }
    await stores[0].refreshTokens.revokeFamily('family-0', NOW + 1)
    await stores[1].refreshTokens.revokeByKey('apimw_test_key1', NOW + 2)
    await stores[1].refreshTokens.revokeByKey('apimw_test_key1', NOW + 3)
    expect(await clients[0].call('GET', `${prefix}rtkey-revoked:apimw_test_key1`)).toBe(
      String(NOW + 2),
    )
    // The families themselves are untouched: the cost does not grow with their number.
    expect(await clients[0].call('HGET', `${prefix}rtfamily:family-1`, 'revokedAt')).toBe('')
    expect((await stores[0].refreshTokens.find('sha256:f0'))?.familyRevokedAt).toBe(NOW + 1)
    expect((await stores[0].refreshTokens.find('sha256:f1'))?.familyRevokedAt).toBe(NOW + 2)
    // A later revokeFamily keeps the first revocation time, the key's.
    await stores[0].refreshTokens.revokeFamily('family-2', NOW + 9)
    expect((await stores[0].refreshTokens.find('sha256:f2'))?.familyRevokedAt).toBe(NOW + 2)
    expect(await stores[0].refreshTokens.rotate('sha256:f1', 'sha256:x', NOW + 10)).toEqual({
      outcome: 'invalid',
    })
    expect(await stores[0].refreshTokens.find('sha256:x')).toBeUndefined()
  })

  it('treats a family created after revokeByKey (a token request racing the revocation) as revoked', async () => {
    const { stores } = redis()
    await stores[0].refreshTokens.revokeByKey('apimw_test_key1', NOW + 1)
    await stores[1].refreshTokens.create(first({ issuedAt: NOW + 2 }))
    expect((await stores[0].refreshTokens.find('sha256:first'))?.familyRevokedAt).toBe(NOW + 1)
    expect(await stores[0].refreshTokens.rotate('sha256:first', 'sha256:n', NOW + 3)).toEqual({
      outcome: 'invalid',
    })
  })
})
