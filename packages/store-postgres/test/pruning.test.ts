import { describe, expect, it } from 'vitest'
import { NOW, refreshToken } from '../../../test/stores/records.js'
import { usePostgres } from './pg-fixture.js'

/** What the store deletes on its own, every `pruneEvery` writes, in the background. */
describe('pruning on Postgres', () => {
  const postgres = usePostgres()

  it('prunes ended counter windows', async () => {
    const { open, pools, schema } = postgres()
    const store = open({ pruneEvery: 2 })
    await store.counters.increment('old', 10, NOW)
    await store.counters.increment('new', 10, NOW + 10)
    await store.close()
    const { rows } = await pools[0].query(`SELECT name FROM "${schema}".counters ORDER BY name`)
    expect(rows).toEqual([{ name: 'new' }])
  })

  it('prunes refresh-token families past their expiry', async () => {
    const { open } = postgres()
    const store = open({ pruneEvery: 1 })
    await store.refreshTokens.create(refreshToken({ expiresAt: NOW + 10 }))
    await store.refreshTokens.create(
      refreshToken({ hash: 'sha256:later', familyId: 'family-2', issuedAt: NOW + 10 }),
    )
    await store.close()
    expect(await store.refreshTokens.find(refreshToken().hash)).toBeUndefined()
    expect(await store.refreshTokens.find('sha256:later')).toBeDefined()
  })
})
