/**
 * A store call that took longer than `queryTimeoutMs`. APIMW answers 503
 * `temporarily_unavailable` for it, like for any store failure.
 */
export class PostgresTimeoutError extends Error {
  constructor(ms: number, options?: ErrorOptions) {
    super(`PostgreSQL gave no answer in ${ms} ms`, options)
    this.name = 'PostgresTimeoutError'
  }
}

/**
 * Runs `task` with a deadline: after `ms` the result rejects with {@link PostgresTimeoutError} and
 * the signal passed to `task` is aborted (a transaction then rolls back at its next statement).
 * A late failure of `task` is handled here, so it never becomes an unhandled rejection.
 */
export function withDeadline<T>(ms: number, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new PostgresTimeoutError(ms)
      controller.abort(error)
      reject(error)
    }, ms)
    task(controller.signal).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
