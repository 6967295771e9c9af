import type { SigningKeyRecord } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

const signingKey = (kid: string, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
  kid,
  alg: 'ES256',
  publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` },
  privateJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, d: `d-${kid}` },
  createdAt: NOW,
  rotatedAt: null,
  notAfter: null,
  ...overrides,
})

describe('signing keys on Postgres', () => {
  const postgres = usePostgres()

  it('makes 20 racing instances on two pools agree on one active key per alg', async () => {
    const { stores } = postgres()
    const active = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]!.signingKeys.activate(signingKey(`k${i}`)),
      ),
    )
    expect(new Set(active.map((k) => k.kid)).size).toBe(1)
    expect(active[0]).toEqual(signingKey(active[0]!.kid))
    expect((await stores[0].signingKeys.activate(signingKey('hs', { alg: 'HS256' }))).kid).toBe(
      'hs',
    )
    expect(await stores[1].signingKeys.list()).toHaveLength(2)
  })

  it('rotates: ends the active key, inserts the next, drops keys past notAfter', async () => {
    const { stores } = postgres()
    await stores[0].signingKeys.activate(signingKey('one'))
    await stores[1].signingKeys.rotate(
      signingKey('two', { createdAt: NOW + 10 }),
      NOW + 10,
      NOW + 100,
    )
    expect(await stores[0].signingKeys.list()).toEqual([
      signingKey('two', { createdAt: NOW + 10 }),
      signingKey('one', { rotatedAt: NOW + 10, notAfter: NOW + 100 }),
    ])
    expect((await stores[0].signingKeys.activate(signingKey('late'))).kid).toBe('two')
    await stores[0].signingKeys.rotate(
      signingKey('three', { createdAt: NOW + 100 }),
      NOW + 100,
      NOW + 200,
    )
    expect(
      (await stores[1].signingKeys.list()).map((k) => [k.kid, k.rotatedAt, k.notAfter]),
    ).toEqual([
      ['three', null, null],
      ['two', NOW + 100, NOW + 200],
    ])
  })

  it('never leaves two active keys of one alg under concurrent rotations and activations', async () => {
    const { stores } = postgres()
    await stores[0].signingKeys.activate(signingKey('zero'))
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 3 === 0
          ? stores[i % 2]!.signingKeys.activate(signingKey(`a${i}`))
          : stores[i % 2]!.signingKeys.rotate(
              signingKey(`r${i}`, { createdAt: NOW + i }),
              NOW + i,
              NOW + 1000,
            ),
      ),
    )
    const list = await stores[0].signingKeys.list()
    expect(list.filter((k) => k.rotatedAt === null)).toHaveLength(1)
    expect(list.filter((k) => k.kid.startsWith('r'))).toHaveLength(6)
  })
})
