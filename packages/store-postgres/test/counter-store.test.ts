import { describe, expect, it } from 'vitest'
import { usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

describe('counters on Postgres', () => {
  const postgres = usePostgres()

  it('counts 50 concurrent increments across two pools exactly once each', async () => {
    const { stores } = postgres()
    const values = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 2]!.counters.increment('fail:k:ip', 60, NOW)),
    )
    expect(values.map((v) => v.count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    expect(new Set(values.map((v) => v.resetAt))).toEqual(new Set([NOW + 60]))
    expect(await stores[1].counters.get('fail:k:ip', NOW + 59)).toEqual({
      count: 50,
      resetAt: NOW + 60,
    })
  })

  it('starts a new window when the stored one has ended at the caller’s now', async () => {
    const { stores } = postgres()
    await stores[0].counters.increment('c', 60, NOW)
    await stores[0].counters.increment('c', 60, NOW + 30)
    expect(await stores[0].counters.get('c', NOW + 60)).toBeUndefined()
    expect(await stores[1].counters.increment('c', 60, NOW + 60)).toEqual({
      count: 1,
      resetAt: NOW + 120,
    })
    await stores[1].counters.delete('c')
    expect(await stores[0].counters.get('c', NOW + 61)).toBeUndefined()
  })

  it('prunes ended windows in the background', async () => {
    const { open, pools, schema } = postgres()
    const store = open({ pruneEvery: 2 })
    await store.counters.increment('old', 10, NOW)
    await store.counters.increment('new', 10, NOW + 10)
    await store.close()
    const { rows } = await pools[0].query(`SELECT name FROM "${schema}".counters ORDER BY name`)
    expect(rows).toEqual([{ name: 'new' }])
  })
})
