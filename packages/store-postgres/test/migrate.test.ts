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
    expect(applied.flat()).toEqual([1, 2])
    expect(await migrate(b, name)).toEqual([])
    const { rows } = await a.query(
      `SELECT version, name FROM "${name}".schema_migrations ORDER BY version`,
    )
    expect(rows).toEqual([
      { version: 1, name: 'create tables' },
      { version: 2, name: 'refresh token replaced_by' },
    ])
  })

  it('brings a schema at version 1 up to date, keeping its refresh tokens', async () => {
    const [a] = [pool()]
    const name = schema()
    await a.query(`CREATE SCHEMA "${name}"`)
    await a.query(`CREATE TABLE "${name}".schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const tables = (await import('../src/sql.js')).tables(name)
    const { migrations } = await import('../src/migrations.js')
    await a.query(migrations[0]!.sql(tables))
    await a.query(`INSERT INTO "${name}".schema_migrations VALUES (1, 'create tables')`)
    await a.query(
      `INSERT INTO ${tables.refreshTokenFamilies} VALUES ('f', 'k', 1700003600, NULL);
       INSERT INTO ${tables.refreshTokens}
         VALUES ('sha256:old', 'f', 'k', '{a}', 'test', 1700000000, 1700003600, 1700000010)`,
    )
    const store = createPostgresStore({ pool: a, schema: name })
    try {
      // Used before the upgrade: no replaced_by, so any rotation is a reuse.
      expect(await store.refreshTokens.rotate('sha256:old', 'sha256:new', 1_700_000_020)).toEqual({
        outcome: 'reused',
        previous: expect.objectContaining({
          usedAt: 1_700_000_010,
          familyRevokedAt: 1_700_000_020,
        }),
      })
      expect(await migrate(a, name)).toEqual([])
    } finally {
      await store.close()
    }
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
