import { migrate } from './migrate.js'
import type { ResolvedPostgresStoreOptions } from './options.js'
import type { PgPoolClient, PgQueryResult } from './pg-types.js'
import type { Tables } from './sql.js'
import { tables } from './sql.js'
import { withDeadline } from './timeout.js'
import { withTransaction } from './transaction.js'

/** What every table's store shares: the pool, the table names, the lazy migration, background work. */
export interface StoreContext {
  t: Tables
  options: ResolvedPostgresStoreOptions
  query<Row extends object>(text: string, values?: unknown[]): Promise<PgQueryResult<Row>>
  transaction<T>(work: (client: PgPoolClient) => Promise<T>): Promise<T>
  /**
   * Returns a function to call on each write: every `pruneEvery` calls it starts `prune(now)` in
   * the background (errors ignored: pruning is housekeeping).
   */
  periodically(prune: (now: number) => Promise<unknown>): (now: number) => void
  /** Waits for background work started so far. */
  settle(): Promise<void>
}

export function createStoreContext(options: ResolvedPostgresStoreOptions): StoreContext {
  const { pool, queryTimeoutMs } = options
  // pg emits `error` on the pool when an idle connection dies (a restart, pg_terminate_backend);
  // an EventEmitter `error` with no listener ends the process. The pool's own listener wins.
  if (typeof pool.on === 'function' && (pool.listenerCount?.('error') ?? 0) === 0) {
    pool.on('error', options.onError)
  }
  let migrated: Promise<unknown> | undefined
  const ready = (): Promise<unknown> => {
    if (!options.migrate) return Promise.resolve()
    migrated ??= migrate(pool, options.schema).catch((error: unknown) => {
      migrated = undefined // try again on the next call
      throw error
    })
    return migrated
  }
  const background = new Set<Promise<unknown>>()

  return {
    t: tables(options.schema),
    options,
    query<Row extends object>(text: string, values?: unknown[]) {
      return withDeadline(queryTimeoutMs, async () => {
        await ready()
        return pool.query<Row>(text, values)
      })
    },
    transaction(work) {
      return withDeadline(queryTimeoutMs, async (signal) => {
        await ready()
        signal.throwIfAborted()
        return withTransaction(pool, work, signal)
      })
    },
    periodically(prune) {
      let calls = 0
      return (now) => {
        if (options.pruneEvery === 0 || ++calls < options.pruneEvery) return
        calls = 0
        const task: Promise<unknown> = ready()
          .then(() => prune(now))
          .catch(() => undefined)
          .finally(() => background.delete(task))
        background.add(task)
      }
    },
    async settle() {
      await Promise.all(background)
    },
  }
}
