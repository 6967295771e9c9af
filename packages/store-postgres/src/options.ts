import type { PgPool } from './pg-types.js'

/**
 * Options of {@link createPostgresStore}. Only `pool` is required. Every option is checked when the
 * store is created: a bad one throws a `TypeError` naming it.
 *
 * @example
 * const store = createPostgresStore({
 *   pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000 }),
 *   schema: 'apimw',
 *   migrate: false, // a deploy step runs migrate(pool, 'apimw')
 *   queryTimeoutMs: 2000,
 *   onError: (error) => console.warn('apimw store:', error),
 * })
 */
export interface PostgresStoreOptions {
  /** A `pg` Pool the caller owns: `close()` flushes pending writes but never ends it. */
  pool: PgPool
  /**
   * The schema that holds every table, created by the migrations if missing. Lower-case letters,
   * digits and `_`, starting with a letter or `_`, at most 63 characters. Default `'apimw'`.
   */
  schema?: string
  /**
   * Apply pending migrations (see {@link migrate}) before the first query. Turn off when a deploy
   * step runs `migrate()` and the application's role may not change the schema. Default `true`.
   */
  migrate?: boolean
  /**
   * Milliseconds between writes of buffered `keys.touch()` calls (last-used times); `0` writes
   * each touch at once. Default `1000`.
   */
  touchFlushIntervalMs?: number
  /** Keys buffered by `touch()` that trigger a write before the interval ends. Default `1000`. */
  touchBatchSize?: number
  /**
   * Delete expired rows (counters, revocations, refresh token families past their expiry) and
   * audit events past `maxAuditEvents` once every this many writes of each kind, in the
   * background; `0` never (the audit table then grows without bound). Default `1000`.
   */
  pruneEvery?: number
  /**
   * Most audit events kept (the oldest go first, checked every `pruneEvery` writes). Audit events
   * come from requests too (unauthenticated failures), so the default keeps the table bounded;
   * `null` keeps every event (delete old rows with your own retention job). Default `1_000_000`.
   */
  maxAuditEvents?: number | null
  /**
   * Milliseconds a store call (waiting for a pooled connection, the migration on first use, the
   * statements) may take before it fails, so that a request answers 503 instead of hanging. A
   * write never commits after its caller got the timeout: it runs in a transaction whose
   * `statement_timeout` and `lock_timeout` are the time left, and whose connection is closed
   * (not returned to the pool) at the deadline. The change feed's attempts to listen get the
   * same time. Default `5000`.
   */
  queryTimeoutMs?: number
  /**
   * Push changes (revocations, key and signing-key changes) to every instance on the same schema
   * with `LISTEN`/`NOTIFY`, on one connection checked out of the pool while an instance listens.
   * `false`: no such connection; instances then see changes within their `cacheTtl`. Default `true`.
   */
  changes?: boolean
  /**
   * Called with errors that no caller awaits: the change feed's connection (lost, refused, a
   * malformed payload) and idle pooled connections that die (when the pool has no `error` listener
   * of its own, the store adds one, since an `error` event without one would end the process).
   * Default: ignored.
   */
  onError?: (error: unknown) => void
}

export interface ResolvedPostgresStoreOptions {
  pool: PgPool
  schema: string
  migrate: boolean
  touchFlushIntervalMs: number
  touchBatchSize: number
  pruneEvery: number
  maxAuditEvents: number | null
  queryTimeoutMs: number
  changes: boolean
  onError: (error: unknown) => void
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Throws a `TypeError` unless `schema` is a plain lower-case identifier (see the option). */
export function assertSchemaName(schema: unknown, caller = 'createPostgresStore'): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new TypeError(
      `${caller}: "schema" must match ${SCHEMA_NAME} and not start with pg_, got ${JSON.stringify(schema)}`,
    )
  }
  return schema
}

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`createPostgresStore: "${name}" must be an integer >= ${min}`)
  }
  return value
}

/** Checks the options once, at construction; a bad one throws a `TypeError` naming it. */
export function resolveOptions(options: PostgresStoreOptions): ResolvedPostgresStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createPostgresStore: options must be an object')
  }
  const {
    pool,
    migrate = true,
    maxAuditEvents = 1_000_000,
    changes = true,
    onError = ignore,
  } = options
  if (
    typeof pool !== 'object' ||
    pool === null ||
    typeof pool.query !== 'function' ||
    typeof pool.connect !== 'function'
  ) {
    throw new TypeError('createPostgresStore: "pool" must be a pg Pool')
  }
  if (typeof migrate !== 'boolean') {
    throw new TypeError('createPostgresStore: "migrate" must be a boolean')
  }
  if (typeof changes !== 'boolean') {
    throw new TypeError('createPostgresStore: "changes" must be a boolean')
  }
  if (typeof onError !== 'function') {
    throw new TypeError('createPostgresStore: "onError" must be a function')
  }
  return {
    pool,
    schema: assertSchemaName(options.schema ?? 'apimw'),
    migrate,
    touchFlushIntervalMs: integer('touchFlushIntervalMs', options.touchFlushIntervalMs, 1000, 0),
    touchBatchSize: integer('touchBatchSize', options.touchBatchSize, 1000, 1),
    pruneEvery: integer('pruneEvery', options.pruneEvery, 1000, 0),
    maxAuditEvents:
      maxAuditEvents === null ? null : integer('maxAuditEvents', maxAuditEvents, 0, 1),
    queryTimeoutMs: integer('queryTimeoutMs', options.queryTimeoutMs, 5000, 1),
    changes,
    onError,
  }
}

const ignore = (): void => {}
