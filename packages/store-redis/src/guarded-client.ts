import type { RedisClient } from './options.js'

/** Why the store gave up on a command without an answer from Redis. */
export type RedisUnavailableReason = 'disconnected' | 'timeout'

/**
 * A command the store did not get an answer to: the connection was down (`disconnected`, failed
 * at once) or the answer took longer than `commandTimeoutMs` (`timeout`). APIMW answers 503
 * `temporarily_unavailable` for it, like for any store failure.
 */
export class RedisUnavailableError extends Error {
  readonly reason: RedisUnavailableReason
  constructor(reason: RedisUnavailableReason, message: string) {
    super(message)
    this.name = 'RedisUnavailableError'
    this.reason = reason
  }
}

/** A connection that was lost: ioredis is retrying, or the client was closed. */
const LOST = new Set(['close', 'reconnecting', 'end'])
/** A connection being opened: worth waiting for, within the timeout. */
const OPENING = new Set(['connecting', 'connect'])

/**
 * Wraps the caller's client so that no request waits on Redis for long. ioredis, by default, keeps
 * commands in an offline queue while it reconnects and retries them for a long time; a write
 * queued there could even run after the request had already failed. So:
 * - while the connection is lost (`close`, `reconnecting`, `end`), a command fails at once and is
 *   never queued;
 * - while it is being opened (`connecting`, `connect`), the command waits for `ready` (within the
 *   timeout) and is only then sent;
 * - every command gets `timeoutMs` for its answer. A command that timed out may still run on the
 *   server later (as with any lost reply), and ioredis may send it again after a reconnect
 *   (`autoResendUnfulfilledCommands`), so it can even run twice: each step is one script, so it
 *   runs whole or not at all, and each script is written to be safe to run again.
 * `wait` (a `lazyConnect` client not yet used) sends the command, which makes ioredis connect.
 */
export function guardClient(client: RedisClient, timeoutMs: number): RedisClient {
  let opening: Promise<boolean> | undefined

  /** Resolves true on `ready`, false when the attempt fails; one set of listeners for every waiter. */
  const whenOpened = (once: NonNullable<RedisClient['once']>): Promise<boolean> => {
    opening ??= new Promise<boolean>((resolve) => {
      const settle = (ok: boolean) => () => {
        client.removeListener?.('ready', onReady)
        client.removeListener?.('close', onClose)
        client.removeListener?.('end', onClose)
        opening = undefined
        resolve(ok)
      }
      const onReady = settle(true)
      const onClose = settle(false)
      once.call(client, 'ready', onReady)
      once.call(client, 'close', onClose)
      once.call(client, 'end', onClose)
    })
    return opening
  }

  return {
    async call(command, ...args) {
      const started = Date.now()
      const status = client.status
      if (status !== undefined && LOST.has(status)) {
        throw new RedisUnavailableError('disconnected', `Redis connection is ${status}`)
      }
      if (status !== undefined && OPENING.has(status) && client.once) {
        const opened = await withTimeout(whenOpened(client.once), timeoutMs, command)
        if (!opened) throw new RedisUnavailableError('disconnected', 'Redis connection failed')
      }
      const left = Math.max(1, timeoutMs - (Date.now() - started))
      return withTimeout(client.call(command, ...args), left, command)
    },
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, command: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new RedisUnavailableError('timeout', `Redis ${command} got no answer in ${ms} ms`)),
      ms,
    )
    // Handles a late rejection too: it never becomes an unhandled rejection.
    promise.then(
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
