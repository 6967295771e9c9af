import type { PgPool, PgPoolClient } from './pg-types.js'

/**
 * Runs `work` in one transaction on one pooled connection: COMMIT if it resolves, else ROLLBACK.
 * Once `signal` is aborted (the store's timeout answered the caller already), the next statement
 * of `work`, or the COMMIT, fails instead of running: the transaction rolls back rather than
 * commit behind the caller's back. The connection is watched for `error` while it is checked out
 * (`pg` emits it when the server ends the session, e.g. a restart or `pg_terminate_backend`; with
 * no listener that would end the process); a connection that failed is closed, not reused.
 */
export async function withTransaction<T>(
  pool: PgPool,
  work: (client: PgPoolClient) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  const onError = (error: Error) => {
    broken ??= error
  }
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
    signal?.throwIfAborted()
    await client.query('BEGIN')
    const result = await work(guarded)
    await guarded.query('COMMIT')
    return result
  } catch (error) {
    try {
      await client.query('ROLLBACK')
    } catch (rollbackError) {
      // The connection is unusable: let the pool discard it rather than hand it out again.
      broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
    }
    throw error
  } finally {
    client.removeListener?.('error', onError)
    client.release(broken)
  }
}
