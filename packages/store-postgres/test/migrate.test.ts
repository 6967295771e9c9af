import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { createPostgresStore, migrate } from '../src/index.js'
import { DATABASE_URL, randomSchema } from './pg-fixture.js'

describe('migrate', () => {
  const pools: pg.Pool[] = []
  const schemas: string[] = []
  const pool = () => {
    const created = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    pools.push(created)
    return created
  }
  const schema = () => {
    const name = randomSchema()
    schemas.push(name)
    return name
  }
  afterEach(async () => {
    const admin = pools[0] ?? pool()
    for (const name of schemas.splice(0))
      await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
    await Promise.all(pools.splice(0).map((p) => p.end()))
  })

  it('is safe when two pools migrate one schema at once, and a no-op when run again', async () => {
    const [a, b] = [pool(), pool()]
    const name = schema()
    const applied = await Promise.all([
      migrate(a, name),
      migrate(b, name),
      migrate(a, name),
      migrate(b, name),
    ])
    expect(applied.flat()).toEqual([1])
    expect(await migrate(b, name)).toEqual([])
    const { rows } = await a.query(`SELECT version, name FROM "${name}".schema_migrations`)
    expect(rows).toEqual([{ version: 1, name: 'create tables' }])
  })

  it('lets stores that start together on a new schema migrate it once, lazily', async () => {
    const [a, b] = [pool(), pool()]
    const name = schema()
    const stores = [
      createPostgresStore({ pool: a, schema: name }),
      createPostgresStore({ pool: b, schema: name }),
    ]
    await Promise.all(
      stores.map((store, i) => store.counters.increment('c', 60, 1_700_000_000 + i)),
    )
    expect((await stores[0]!.counters.get('c', 1_700_000_000))?.count).toBe(2)
  })

  it('creates nothing with migrate: false (queries fail until migrate() ran)', async () => {
    const name = schema()
    const store = createPostgresStore({ pool: pool(), schema: name, migrate: false })
    await expect(store.counters.get('c', 0)).rejects.toThrow(/does not exist/)
  })

  it('rejects a schema name that is not a plain identifier with a TypeError', async () => {
    for (const bad of ['', 'Apimw', 'a-b', 'a"b', 'a b', 'pg_catalog', '1abc', 'x'.repeat(64)]) {
      await expect(migrate(pool(), bad)).rejects.toThrow(TypeError)
      expect(() => createPostgresStore({ pool: pool(), schema: bad })).toThrow(/"schema"/)
    }
  })
})
