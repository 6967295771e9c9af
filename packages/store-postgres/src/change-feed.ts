import { createHash } from 'node:crypto'
import type { ChangeFeed, StoreChange } from '@apimw/core'
import { parseStoreChange, serializeStoreChange } from '@apimw/core'
import type { PgNotification, PgPool, PgPoolClient } from './pg-types.js'
import { quoteIdentifier } from './sql.js'

/** A change feed whose listening connection the store can close. */
export interface PgChangeFeed extends ChangeFeed {
  /** Drops every listener, closes the listening connection and stops reconnecting. */
  close(): Promise<void>
}

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
 */
export function createPgChangeFeed(options: {
  pool: PgPool
  channel: string
  notify: (channel: string, payload: string) => Promise<unknown>
  onError: (error: unknown) => void
}): PgChangeFeed {
  const { pool, channel, notify, onError } = options
  const listeners = new Set<(change: StoreChange) => void>()
  /** The connection that listens, once `LISTEN` succeeded. */
  let connection: PgPoolClient | undefined
  /** A connection attempt in progress. */
  let attempt: Promise<void> | undefined
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let retryDelay = RETRY_MIN_MS
  const dropped = new WeakSet<PgPoolClient>()

  const wanted = () => listeners.size > 0

  const deliver = (message: PgNotification) => {
    if (message.channel !== channel) return
    const change = parseStoreChange(message.payload ?? '')
    if (!change) {
      onError(new Error(`ignored a malformed notification on the channel ${channel}`))
      return
    }
    for (const listener of listeners) {
      try {
        listener(change)
      } catch (error) {
        onError(error)
      }
    }
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
    drop(client, error instanceof Error ? error : new Error(String(error)))
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

  const listen = async () => {
    let client: PgPoolClient | undefined
    try {
      client = await pool.connect()
      const current = client
      current.on?.('error', (error: Error) => lost(current, error))
      current.on?.('notification', (message: PgNotification) => deliver(message))
      await current.query(`LISTEN ${quoteIdentifier(channel)}`)
      if (dropped.has(current)) return
      if (!wanted()) {
        drop(current)
        return
      }
      connection = current
      retryDelay = RETRY_MIN_MS
    } catch (error) {
      if (client) lost(client, error)
      else {
        onError(error)
        retryLater()
      }
    }
  }

  const start = () => {
    if (!wanted() || connection || attempt || retryTimer) return
    attempt = listen().finally(() => {
      attempt = undefined
    })
  }

  const stop = () => {
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = undefined
    retryDelay = RETRY_MIN_MS
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
      listeners.clear()
      stop()
      // An attempt in progress closes its connection itself once it sees nobody listens.
      await attempt
    },
  }
}
