import { migrations } from './migrations.js'
import { assertSchemaName } from './options.js'
import type { PgPool } from './pg-types.js'
import { quoteIdentifier, tables } from './sql.js'
import type { TransactionDeadline } from './transaction.js'
import { withTransaction } from './transaction.js'

/** First key of the advisory lock (`'apmw'`); the second is a hash of the schema name. */
const LOCK_NAMESPACE = 0x61706d77

/**
 * Brings `schema` up to date: creates it and its `schema_migrations` table if missing, then applies
 * every migration not recorded there, in version order, all in one transaction. The transaction
 * first takes `pg_advisory_xact_lock` for the schema, so processes that migrate at the same time
 * run one after the other, and the later ones find nothing to do. Running it again is a no-op.
 * Returns the versions it applied.
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * await migrate(pool, 'apimw') // e.g. in a deploy step; then createPostgresStore({ pool, migrate: false })
 */
export async function migrate(pool: PgPool, schema = 'apimw'): Promise<number[]> {
  return runMigrations(pool, schema)
}

/** {@link migrate}, within the deadline of a store call when one is given (see `withTransaction`). */
export async function runMigrations(
  pool: PgPool,
  schema: string,
  deadline?: TransactionDeadline,
): Promise<number[]> {
  assertSchemaName(schema, 'migrate')
  const t = tables(schema)
  return withTransaction(
    pool,
    async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, schema])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`)
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${t.migrations} (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      )
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM ${t.migrations}`,
      )
      const done = new Set(rows.map((row) => row.version))
      const applied: number[] = []
      for (const migration of migrations) {
        if (done.has(migration.version)) continue
        await client.query(migration.sql(t))
        await client.query(`INSERT INTO ${t.migrations} (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ])
        applied.push(migration.version)
      }
      return applied
    },
    deadline,
  )
}
