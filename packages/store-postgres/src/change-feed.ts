import { createHash } from 'node:crypto'
import type { ChangeFeed, StoreChange } from '@apimw/core'
import { deliverStoreChange, serializeStoreChange } from '@apimw/core'
import type { PgNotification, PgPool, PgPoolClient } from './pg-types.js'
import { quoteIdentifier } from './sql.js'

/** A change feed whose listening connection the store can close. */
export interface PgChangeFeed extends ChangeFeed {
  /**
   * Drops every listener, closes the listening connection and stops reconnecting, for good.
   * Resolves at once: an attempt to listen still in progress closes its connection when it ends.
   */
  close(): Promise<void>
}

/** An attempt to listen: a connection checked out, then `LISTEN`, within the deadline. */
interface Attempt {
  done: boolean
  timer: ReturnType<typeof setTimeout>
  /** The connection, once checked out. */
  client?: PgPoolClient
}

const toError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error))

/** Delay before the first reconnect of the listening connection, then doubled up to the maximum. */
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 5_000
/** PostgreSQL truncates identifiers to 63 bytes, and pg_notify() refuses longer channel names. */
const MAX_CHANNEL = 63

/**
 * The `LISTEN`/`NOTIFY` channel of a schema: `<schema>_changes`. A schema name too long for that
 * keeps its first 46 characters and gets 8 hex digits of its SHA-256 (still one per schema).
 */
export function changeChannel(schema: string): string {
  const plain = `${schema}_changes`
  if (plain.length <= MAX_CHANNEL) return plain
  const digest = createHash('sha256').update(schema).digest('hex').slice(0, 8)
  return `${schema.slice(0, MAX_CHANNEL - 17)}_${digest}_changes`
}

/**
 * Changes over PostgreSQL `LISTEN`/`NOTIFY`. `publish` is `SELECT pg_notify(channel, json)`
 * through `notify`. Listening holds one connection checked out of the pool, taken when the first
 * listener subscribes and closed (not returned to the pool, where it would keep listening) when
 * the last one leaves or on `close()`. When that connection is lost (a restart,
 * `pg_terminate_backend`), it is replaced and `LISTEN` is issued again, after 0.1 s, then twice as
 * long each time up to 5 s. Notifications sent while no connection listened are lost: instances
 * then see the change within their `cacheTtl`. Errors go to `onError`, never to a request.
 *
 * An attempt to listen (checking a connection out, then `LISTEN`) that takes longer than
 * `timeoutMs` (an exhausted pool, a server that does not answer) is reported and retried later.
 * At most one checkout is pending at a time: a retry waits for it rather than queue another.
 * `close()` never waits for an attempt: it stops the feed for good, and a connection that comes
 * after it is closed at once.
 */
export function createPgChangeFeed(options: {
  pool: PgPool
  channel: string
  notify: (channel: string, payload: string) => Promise<unknown>
  onError: (error: unknown) => void
  timeoutMs: number
}): PgChangeFeed {
  const { pool, channel, notify, onError, timeoutMs } = options
  const listeners = new Set<(change: StoreChange) => void>()
  /** The connection that listens, once `LISTEN` succeeded. */
  let connection: PgPoolClient | undefined
  /** The attempt to listen in progress, if any. */
  let attempt: Attempt | undefined
  /**
   * Whether a `pool.connect()` is pending. There is at most one: a new attempt waits for it rather
   * than queue another checkout, and whichever attempt is current when it comes gets it.
   */
  let checkingOut = false
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let retryDelay = RETRY_MIN_MS
  let closed = false
  const dropped = new WeakSet<PgPoolClient>()

  const wanted = () => !closed && listeners.size > 0

  const deliver = (message: PgNotification) => {
    if (message.channel !== channel) return
    deliverStoreChange(message.payload ?? '', listeners, onError, `the channel ${channel}`)
  }

  /** Closes `client` (never back to the pool while it listens), once. */
  const drop = (client: PgPoolClient, error?: Error) => {
    if (dropped.has(client)) return
    dropped.add(client)
    if (connection === client) connection = undefined
    try {
      client.release(error ?? true)
    } catch (releaseError) {
      onError(releaseError)
    }
  }

  const lost = (client: PgPoolClient, error: unknown) => {
    if (dropped.has(client)) return
    onError(error)
    drop(client, toError(error))
    retryLater()
  }

  const retryLater = () => {
    if (!wanted() || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      start()
    }, retryDelay)
    retryTimer.unref?.()
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS)
  }

  const endAttempt = (current: Attempt) => {
    current.done = true
    clearTimeout(current.timer)
    if (attempt === current) attempt = undefined
  }

  /** Ends an attempt without a connection (close(), or nobody listens any more). */
  const giveUp = (current: Attempt) => {
    if (current.done) return
    endAttempt(current)
    if (current.client) drop(current.client)
  }

  /** Ends an attempt on an error: reported, and retried later. */
  const fail = (current: Attempt, error: unknown) => {
    if (current.done) return
    endAttempt(current)
    if (current.client) drop(current.client, toError(error))
    onError(error)
    retryLater()
  }

  const useConnection = async (current: Attempt, client: PgPoolClient) => {
    current.client = client
    client.on?.('error', (error: Error) =>
      current.done ? lost(client, error) : fail(current, error),
    )
    client.on?.('notification', (message: PgNotification) => deliver(message))
    try {
      await client.query(`LISTEN ${quoteIdentifier(channel)}`)
    } catch (error) {
      fail(current, error)
      return
    }
    if (current.done) return // given up meanwhile: its connection is closed already
    endAttempt(current)
    if (!wanted()) {
      drop(client)
      return
    }
    connection = client
    retryDelay = RETRY_MIN_MS
  }

  /** One attempt: a connection, then `LISTEN`, within `timeoutMs`. */
  const listen = () => {
    const current: Attempt = {
      done: false,
      timer: setTimeout(
        () => fail(current, new Error(`LISTEN on ${channel} got no answer in ${timeoutMs} ms`)),
        timeoutMs,
      ),
    }
    current.timer.unref?.()
    attempt = current
    if (checkingOut) return
    checkingOut = true
    pool.connect().then(
      (client) => {
        checkingOut = false
        const owner = attempt
        if (owner && !owner.done) void useConnection(owner, client)
        else drop(client) // nobody waits for it any more
      },
      (error: unknown) => {
        checkingOut = false
        if (attempt && !attempt.done) fail(attempt, error)
      },
    )
  }

  const start = () => {
    if (!wanted() || connection || attempt || retryTimer) return
    listen()
  }

  const stop = () => {
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = undefined
    retryDelay = RETRY_MIN_MS
    if (attempt) giveUp(attempt)
    if (connection) drop(connection)
  }

  return {
    async publish(change) {
      await notify(channel, serializeStoreChange(change))
    },
    subscribe(listener) {
      // Wrapped, so the same function subscribed twice is two subscriptions.
      const entry = (change: StoreChange) => listener(change)
      listeners.add(entry)
      start()
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        listeners.delete(entry)
        if (!wanted()) stop()
      }
    },
    async close() {
      closed = true
      listeners.clear()
      stop()
    },
  }
}
