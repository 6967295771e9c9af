import { describe, expect, it } from 'vitest'
import { nulFree } from '../src/text.js'
import { usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

describe('ids holding U+0000, which Postgres text cannot store', () => {
  const postgres = usePostgres()

  it('maps names one-to-one onto NUL-free text', () => {
    const names = ['a', 'a\0', 'a\\0', 'a\\\0', 'a\\\\0', '\0\0', '\\\\']
    const mapped = names.map(nulFree)
    expect(new Set(mapped).size).toBe(names.length)
    for (const name of mapped) expect(name).not.toContain('\0')
  })

  it('counts, revokes and audits under such names instead of failing', async () => {
    const { stores } = postgres()
    const [store] = stores
    await store.counters.increment('fail:apimw_test_\0:1.2.3.4', 60, NOW)
    expect(await store.counters.increment('fail:apimw_test_\0:1.2.3.4', 60, NOW)).toMatchObject({
      count: 2,
    })
    expect(await store.counters.get('fail:apimw_test_\\0:1.2.3.4', NOW)).toBeUndefined()
    await store.revocations.revoke('jti\0', NOW + 10)
    expect(await store.revocations.isRevoked('jti\0', NOW)).toBe(true)
    expect(await store.revocations.isRevoked('jti', NOW)).toBe(false)
    const event = { type: 'auth.failed' as const, at: '2023-11-14T22:13:20.000Z', keyId: 'k\0' }
    await store.audit.write(event)
    expect(await store.audit.tail({ keyId: 'k\0', limit: 5 })).toEqual([event])
    expect(await store.audit.tail({ keyId: 'k', limit: 5 })).toEqual([])
  })

  it('finds nothing for such ids without asking the database', async () => {
    const { stores } = postgres()
    const [store] = stores
    expect(await store.keys.get('apimw_test_\0')).toBeUndefined()
    expect(await store.keys.revoke('apimw_test_\0', NOW)).toBeUndefined()
    await store.keys.touch('apimw_test_\0', NOW)
    expect(await store.refreshTokens.find('sha256:\0')).toBeUndefined()
    expect(await store.refreshTokens.rotate('sha256:\0', 'sha256:n', NOW)).toEqual({
      outcome: 'invalid',
    })
  })
})
