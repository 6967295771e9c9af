import type { RefreshTokenRecord } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { usePostgres } from './pg-fixture.js'

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

describe('refresh tokens on Postgres', () => {
  const postgres = usePostgres()

  it('lets exactly one of 50 concurrent rotations across two pools win, then revokes the family', async () => {
    const { stores } = postgres()
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
    expect((await stores[1].refreshTokens.find(winner.next.hash))?.familyRevokedAt).toBe(NOW + 10)
    expect(
      await stores[0].refreshTokens.rotate(winner.next.hash, 'sha256:later', NOW + 20),
    ).toEqual({ outcome: 'invalid' })
  })

  it('returns the records as they are after a rotation and a reuse', async () => {
    const { stores } = postgres()
    await stores[0].refreshTokens.create(first())
    expect(await stores[1].refreshTokens.rotate('sha256:first', 'sha256:second', NOW + 5)).toEqual({
      outcome: 'rotated',
      previous: first({ usedAt: NOW + 5 }),
      next: first({ hash: 'sha256:second', issuedAt: NOW + 5 }),
    })
    expect(await stores[0].refreshTokens.find('sha256:second')).toEqual(
      first({ hash: 'sha256:second', issuedAt: NOW + 5 }),
    )
    expect(await stores[0].refreshTokens.rotate('sha256:first', 'sha256:third', NOW + 6)).toEqual({
      outcome: 'reused',
      previous: first({ usedAt: NOW + 5, familyRevokedAt: NOW + 6 }),
    })
    expect(await stores[0].refreshTokens.find('sha256:third')).toBeUndefined()
  })

  it('reports concurrent repeats of one rotation (same next hash, two pools) as that rotation', async () => {
    const { stores } = postgres()
    await stores[0].refreshTokens.create(first())
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stores[i % 2]!.refreshTokens.rotate('sha256:first', 'sha256:second', NOW + 5),
      ),
    )
    const rotated = {
      outcome: 'rotated',
      previous: first({ usedAt: NOW + 5 }),
      next: first({ hash: 'sha256:second', issuedAt: NOW + 5 }),
    }
    for (const result of results) expect(result).toEqual(rotated)
    expect(await stores[1].refreshTokens.find('sha256:second')).toEqual(rotated.next)
  })

  it('refuses an expired family and an unknown token without changing anything', async () => {
    const { stores } = postgres()
    await stores[0].refreshTokens.create(first())
    expect(await stores[0].refreshTokens.rotate('sha256:first', 'x', NOW + 30 * 86_400)).toEqual({
      outcome: 'invalid',
    })
    expect(await stores[0].refreshTokens.rotate('sha256:none', 'y', NOW)).toEqual({
      outcome: 'invalid',
    })
    expect(await stores[0].refreshTokens.find('sha256:first')).toEqual(first())
  })

  it('revokes every family of a key, keeping the first revocation time', async () => {
    const { stores } = postgres()
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

  it('prunes families past their expiry in the background', async () => {
    const { open } = postgres()
    const store = open({ pruneEvery: 1 })
    await store.refreshTokens.create(first({ expiresAt: NOW + 10 }))
    await store.refreshTokens.create(
      first({ hash: 'sha256:later', familyId: 'family-2', issuedAt: NOW + 10 }),
    )
    await store.close()
    expect(await store.refreshTokens.find('sha256:first')).toBeUndefined()
    expect(await store.refreshTokens.find('sha256:later')).toBeDefined()
  })
})
