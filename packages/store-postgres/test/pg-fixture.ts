import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach, beforeEach } from 'vitest'
import type { PostgresStore, PostgresStoreOptions } from '../src/index.js'
import { createPostgresStore } from '../src/index.js'

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export const randomSchema = (): string => `apimw_test_${randomBytes(6).toString('hex')}`

export interface PgFixture {
  /** Two separate pools, as two processes would have. */
  pools: [pg.Pool, pg.Pool]
  schema: string
  /** One store per pool, both on `schema`. */
  stores: [PostgresStore, PostgresStore]
  /** Another store on `pools[i]` and `schema` with other options. */
  open(options?: Partial<PostgresStoreOptions>, i?: 0 | 1): PostgresStore
}

/** Per test: two pools and a random schema, dropped (CASCADE) after. */
export function usePostgres(options: Partial<PostgresStoreOptions> = {}): () => PgFixture {
  let fixture: PgFixture | undefined
  let cleanup: (() => Promise<void>) | undefined
  beforeEach(() => {
    const pools: [pg.Pool, pg.Pool] = [
      new pg.Pool({ connectionString: DATABASE_URL, max: 10 }),
      new pg.Pool({ connectionString: DATABASE_URL, max: 10 }),
    ]
    const schema = randomSchema()
    const opened: PostgresStore[] = []
    const open = (more: Partial<PostgresStoreOptions> = {}, i: 0 | 1 = 0) => {
      const store = createPostgresStore({ pool: pools[i], schema, ...options, ...more })
      opened.push(store)
      return store
    }
    fixture = { pools, schema, stores: [open({}, 0), open({}, 1)], open }
    cleanup = async () => {
      await Promise.allSettled(opened.map((store) => store.close()))
      await pools[0].query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await Promise.all(pools.map((pool) => pool.end()))
    }
  })
  afterEach(async () => {
    await cleanup?.()
    cleanup = undefined
    fixture = undefined
  })
  return () => {
    if (!fixture) throw new Error('usePostgres: no fixture outside a test')
    return fixture
  }
}
