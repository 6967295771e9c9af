import { randomBytes } from 'node:crypto'
import { createPostgresStore } from '@apimw/store-postgres'
import pg from 'pg'
import { defineStoreSuite } from './define-store-suite.js'

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

defineStoreSuite(
  'postgres store',
  async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 })
    const schema = `apimw_suite_${randomBytes(6).toString('hex')}`
    const store = createPostgresStore({ pool, schema })
    return {
      store,
      schema,
      cleanup: async () => {
        try {
          await store.close()
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        } finally {
          await pool.end()
        }
      },
    }
  },
  {
    openSecond: async ({ schema }) => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 })
      const store = createPostgresStore({ pool, schema })
      return {
        store,
        cleanup: async () => {
          try {
            await store.close()
          } finally {
            await pool.end()
          }
        },
      }
    },
  },
)
