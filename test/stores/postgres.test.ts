import { randomBytes } from 'node:crypto'
import { createPostgresStore } from '@apimw/store-postgres'
import pg from 'pg'
import { defineStoreSuite } from './define-store-suite.js'

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A store on a pool of its own; the owner's cleanup also drops the schema. */
function connect(schema: string, owner: boolean) {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 })
  const store = createPostgresStore({ pool, schema })
  const cleanup = async () => {
    try {
      await store.close()
      if (owner) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    } finally {
      await pool.end()
    }
  }
  return { store, schema, cleanup }
}

defineStoreSuite(
  'postgres store',
  async () => connect(`apimw_suite_${randomBytes(6).toString('hex')}`, true),
  {
    openSecond: async ({ schema }) => connect(schema, false),
    // Each rotate() is one transaction of conditional UPDATEs: concurrent calls wait for the row and
    // re-check, so one reuse revokes the family and the others find it revoked.
    serialisedRotate: true,
  },
)
