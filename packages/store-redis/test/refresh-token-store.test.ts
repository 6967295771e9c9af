import type { RefreshTokenRecord } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { drivers, useRedis } from './redis-clients.js'

const NOW = 1_700_000_000

const first = (overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  hash: 'sha256:first',
  familyId: 'family-1',
  keyId: 'apimw_test_key1',
  scopes: ['orders:read', 'orders:write'],
  environment: 'test',
  issuedAt: NOW,
  expiresAt: NOW + 30 * 86_400,
  usedAt: null,
  familyRevokedAt: null,
  ...overrides,
})

describe.each(drivers)('refresh tokens on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('lets exactly one of 50 concurrent rotations across two connections win, then revokes the family', async () => {
    const { stores } = redis()
    await stores[0].refreshTokens.create(first())
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        stores[i % 2]!.refreshTokens.rotate('sha256:first', `sha256:next-${i}`, NOW + 10),
      ),
    )
    const rotated = results.filter((r) => r.outcome === 'rotated')
    expect(rotated).toHaveLength(1)
    // Serialised: one rotation, then one reuse that revokes the family, then 48 refusals.
    expect(results.filter((r) => r.outcome === 'reused')).toHaveLength(1)
    expect(results.filter((r) => r.outcome === 'invalid')).toHaveLength(48)

    const winner = rotated[0]!
    if (winner.outcome !== 'rotated') throw new Error('unreachable')
    expect(winner.next).toMatchObject({ familyId: 'family-1', issuedAt: NOW + 10, usedAt: null })
    const family = await stores[1].refreshTokens.find(winner.next.hash)
    expect(family?.familyRevokedAt).toBe(NOW + 10)
    expect(
      await stores[0].refreshTokens.rotate(winner.next.hash, 'sha256:later', NOW + 20),
    ).toEqual({
      outcome: 'invalid',
    })
  })

  it('returns the records as they are after a rotation', async () => {
    const { stores } = redis()
    await stores[0].refreshTokens.create(first())
    const result = await stores[1].refreshTokens.rotate('sha256:first', 'sha256:second', NOW + 5)
    expect(result).toEqual({
      outcome: 'rotated',
      previous: first({ usedAt: NOW + 5 }),
      next: first({ hash: 'sha256:second', issuedAt: NOW + 5 }),
    })
    expect(await stores[0].refreshTokens.find('sha256:second')).toEqual(
      first({ hash: 'sha256:second', issuedAt: NOW + 5 }),
    )
    const reuse = await stores[0].refreshTokens.rotate('sha256:first', 'sha256:third', NOW + 6)
    expect(reuse).toEqual({
      outcome: 'reused',
      previous: first({ usedAt: NOW + 5, familyRevokedAt: NOW + 6 }),
    })
  })

  it('keeps tokens with times far in the past and lets Redis expire them after the family', async () => {
    const { stores, clients, prefix } = redis()
    await stores[0].refreshTokens.create(first())
    const ttl = (await clients[0].call('TTL', `${prefix}rt:sha256:first`)) as number
    expect(ttl).toBeGreaterThan(30 * 86_400)
    expect(ttl).toBeLessThanOrEqual(30 * 86_400 + 300)
    expect(await stores[1].refreshTokens.rotate('sha256:first', 'x', NOW + 30 * 86_400)).toEqual({
      outcome: 'invalid',
    })
  })

  it('revokes every family of a key, keeping the first revocation time', async () => {
    const { stores } = redis()
    await stores[0].refreshTokens.create(first())
    await stores[0].refreshTokens.create(first({ hash: 'sha256:other', familyId: 'family-2' }))
    await stores[0].refreshTokens.create(
      first({ hash: 'sha256:foreign', familyId: 'family-3', keyId: 'apimw_test_key2' }),
    )
    await stores[1].refreshTokens.revokeFamily('family-2', NOW + 1)
    await stores[1].refreshTokens.revokeByKey('apimw_test_key1', NOW + 2)
    expect((await stores[0].refreshTokens.find('sha256:first'))?.familyRevokedAt).toBe(NOW + 2)
    expect((await stores[0].refreshTokens.find('sha256:other'))?.familyRevokedAt).toBe(NOW + 1)
    expect((await stores[0].refreshTokens.find('sha256:foreign'))?.familyRevokedAt).toBeNull()
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

  it('a replayed rotation reports the records as stored, even after the next token was used', async () => {
    const { stores } = redis()
    await stores[0].refreshTokens.create(first())
    const rotated = await stores[0].refreshTokens.rotate('sha256:first', 'sha256:second', NOW + 5)
    await stores[0].refreshTokens.rotate('sha256:second', 'sha256:third', NOW + 6)
    // The same script again (ioredis resending it after a reconnect), at any time.
    expect(await stores[1].refreshTokens.rotate('sha256:first', 'sha256:second', NOW + 7)).toEqual(
      rotated.outcome === 'rotated'
        ? { ...rotated, next: { ...rotated.next, usedAt: NOW + 6 } }
        : 'unreachable',
    )
    expect((await stores[0].refreshTokens.find('sha256:third'))?.familyRevokedAt).toBeNull()
  })
})
