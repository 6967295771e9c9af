import { runMigrations } from './migrate.js'
import type { ResolvedPostgresStoreOptions } from './options.js'
import type { PgPoolClient, PgQueryResult } from './pg-types.js'
import type { Tables } from './sql.js'
import { tables } from './sql.js'
import { withDeadline } from './timeout.js'
import type { TransactionDeadline } from './transaction.js'
import { withTransaction } from './transaction.js'

/** What every table's store shares: the pool, the table names, the lazy migration, background work. */
export interface StoreContext {
  t: Tables
  options: ResolvedPostgresStoreOptions
  /**
   * A read: one statement through `pool.query`, failing after `queryTimeoutMs`. Only for
   * statements that change nothing (and `pg_notify`), since a statement given up on may still run.
   */
  query<Row extends object>(text: string, values?: unknown[]): Promise<PgQueryResult<Row>>
  /** A write: one statement in a transaction of its own, with the guarantees of {@link transaction}. */
  write<Row extends object>(text: string, values?: unknown[]): Promise<PgQueryResult<Row>>
  /**
   * Runs `work` in one transaction that never commits after the call has timed out (see
   * `withTransaction`: server-side `statement_timeout` and `lock_timeout` set to the time left, and
   * the connection dropped at the deadline).
   */
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

  /**
   * Runs `task` within `queryTimeoutMs`, giving it the deadline for a transaction. The deadline
   * is taken before the timer starts, so the transaction's limits never outlast the timer.
   */
  const bounded = <T>(task: (deadline: TransactionDeadline) => Promise<T>) => {
    const at = performance.now() + queryTimeoutMs
    return withDeadline(queryTimeoutMs, (signal) => task({ signal, at, timeoutMs: queryTimeoutMs }))
  }

  // The first call migrates, within its own deadline. When that deadline passes, the attempt is
  // forgotten before the call is answered, so the next call starts a new one instead of waiting
  // on an attempt that may never end (no connection, a lock held elsewhere); the late connection
  // of a forgotten attempt is dropped (see withTransaction).
  let migrated: Promise<unknown> | undefined
  const ready = (deadline: TransactionDeadline): Promise<unknown> => {
    if (!options.migrate) return Promise.resolve()
    if (!migrated) {
      const attempt: Promise<unknown> = runMigrations(pool, options.schema, deadline).catch(
        (error: unknown) => {
          if (migrated === attempt) migrated = undefined
          throw error
        },
      )
      migrated = attempt
      const forget = () => {
        if (migrated === attempt) migrated = undefined
      }
      deadline.signal.addEventListener('abort', forget, { once: true })
    }
    return migrated
  }
  const background = new Set<Promise<unknown>>()

  const transaction = <T>(work: (client: PgPoolClient) => Promise<T>): Promise<T> =>
    bounded(async (deadline) => {
      await ready(deadline)
      deadline.signal.throwIfAborted()
      return withTransaction(pool, work, deadline)
    })

  return {
    t: tables(options.schema),
    options,
    query<Row extends object>(text: string, values?: unknown[]) {
      return bounded(async (deadline) => {
        await ready(deadline)
        return pool.query<Row>(text, values)
      })
    },
    write<Row extends object>(text: string, values?: unknown[]) {
      return transaction((client) => client.query<Row>(text, values))
    },
    transaction,
    periodically(prune) {
      let calls = 0
      return (now) => {
        if (options.pruneEvery === 0 || ++calls < options.pruneEvery) return
        calls = 0
        // prune() goes through query/write, which migrate first and have their own deadline.
        const task: Promise<unknown> = Promise.resolve()
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
