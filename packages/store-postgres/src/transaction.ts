import type { PgPool, PgPoolClient } from './pg-types.js'
import { PostgresTimeoutError } from './timeout.js'

/** The deadline of a store call, for {@link withTransaction}. */
export interface TransactionDeadline {
  /** Aborted when the deadline passes (the caller has then been answered with a timeout). */
  signal: AbortSignal
  /** The deadline, in `performance.now()` milliseconds. */
  at: number
  /** The store's `queryTimeoutMs`, for the error message. */
  timeoutMs: number
}

/** SQLSTATEs of a statement the server stopped because of the limits set below. */
const STATEMENT_TIMEOUT = '57014'
const LOCK_TIMEOUT = '55P03'

/**
 * Runs `work` in one transaction on one pooled connection: COMMIT if it resolves, else ROLLBACK.
 * The connection is watched for `error` while it is checked out (`pg` emits it when the server
 * ends the session, e.g. a restart or `pg_terminate_backend`; with no listener that would end the
 * process); a connection that failed is closed, not reused.
 *
 * With a `deadline`, nothing can commit once the caller has been told the call timed out:
 * - the deadline is checked again once a connection is acquired (the wait for one may be long);
 * - the transaction starts with `SET LOCAL statement_timeout` and `SET LOCAL lock_timeout` set to
 *   the time left, so the server itself stops a statement that would run (or wait for a lock)
 *   past the deadline;
 * - when the deadline passes, the connection is released with an error at once, so the pool
 *   closes it: a statement still running there ends with its session, uncommitted. The next
 *   statement of `work`, or the COMMIT, is never sent.
 * Only a COMMIT already sent when the deadline passes may still take effect, as with any reply
 * lost on the network. A server-side timeout rejects with {@link PostgresTimeoutError}.
 */
export async function withTransaction<T>(
  pool: PgPool,
  work: (client: PgPoolClient) => Promise<T>,
  deadline?: TransactionDeadline,
): Promise<T> {
  const client = await pool.connect()
  const signal = deadline?.signal
  let broken: Error | undefined
  let released = false
  const onError = (error: Error) => {
    broken ??= error
  }
  const release = (error?: Error) => {
    if (released) return
    released = true
    client.removeListener?.('error', onError)
    client.release(error)
  }
  const onAbort = () => release(abortReason(signal))
  client.on?.('error', onError)
  const guarded: PgPoolClient = {
    query: (text, values) => {
      signal?.throwIfAborted()
      return client.query(text, values)
    },
    release: () => {
      throw new TypeError('withTransaction releases the connection itself')
    },
  }
  try {
    if (deadline) {
      deadline.signal.throwIfAborted()
      const left = Math.floor(deadline.at - performance.now())
      if (left < 1) throw new PostgresTimeoutError(deadline.timeoutMs)
      deadline.signal.addEventListener('abort', onAbort, { once: true })
      // One round trip; `left` is a number we computed, never caller input.
      await client.query(
        `BEGIN; SET LOCAL statement_timeout = ${left}; SET LOCAL lock_timeout = ${left}`,
      )
    } else {
      await client.query('BEGIN')
    }
    const result = await work(guarded)
    await guarded.query('COMMIT')
    return result
  } catch (error) {
    if (!released && !signal?.aborted) {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackError) {
        // The connection is unusable: let the pool discard it rather than hand it out again.
        broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
      }
    }
    throw deadline && isServerTimeout(error)
      ? new PostgresTimeoutError(deadline.timeoutMs, { cause: error })
      : error
  } finally {
    signal?.removeEventListener('abort', onAbort)
    release(broken ?? (signal?.aborted ? abortReason(signal) : undefined))
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  return reason instanceof Error ? reason : new Error('the store call timed out')
}

function isServerTimeout(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : ''
  return code === STATEMENT_TIMEOUT || code === LOCK_TIMEOUT
}
