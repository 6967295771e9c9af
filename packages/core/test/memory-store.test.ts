import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../src/stores/memory-store.js'

const now = 1_700_000_000

describe('memory store bounds', () => {
  it('never evicts a live revocation: when full, a new one fails (the caller answers 503)', async () => {
    const { revocations } = createMemoryStore({ maxRevocations: 3 })
    for (const jti of ['a', 'b', 'c']) await revocations.revoke(jti, now + 60, now)
    await expect(revocations.revoke('d', now + 60, now)).rejects.toThrow('full')
    for (const jti of ['a', 'b', 'c']) expect(await revocations.isRevoked(jti, now)).toBe(true)
  })

  it('makes room by dropping revocations that have expired', async () => {
    const { revocations } = createMemoryStore({ maxRevocations: 2 })
    await revocations.revoke('old', now + 10, now)
    await revocations.revoke('live', now + 600, now)
    await revocations.revoke('new', now + 600, now + 10)
    expect(await revocations.isRevoked('live', now + 10)).toBe(true)
    expect(await revocations.isRevoked('new', now + 10)).toBe(true)
  })

  it('sweeps expired refresh-token families as new ones are created', async () => {
    const { refreshTokens } = createMemoryStore()
    const family = (i: number, issuedAt: number) => ({
      hash: `h${i}`,
      familyId: `f${i}`,
      keyId: 'k',
      scopes: [],
      environment: 'test' as const,
      issuedAt,
      expiresAt: issuedAt + 100,
      usedAt: null,
      familyRevokedAt: null,
    })
    await refreshTokens.create(family(0, now))
    for (let i = 1; i <= 1000; i++) await refreshTokens.create(family(i, now + 200))
    expect(await refreshTokens.find('h0')).toBeUndefined()
    expect(await refreshTokens.find('h1000')).toMatchObject({ familyId: 'f1000' })
  })
})
