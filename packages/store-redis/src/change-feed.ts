import type { ChangeFeed, StoreChange } from '@apimw/core'
import { deliverStoreChange, serializeStoreChange } from '@apimw/core'
import type { RedisClient, RedisSubscriber } from './options.js'

/** A change feed whose subscriber connection the store can close. */
export interface RedisChangeFeed extends ChangeFeed {
  /** Drops every listener and disconnects the subscriber connection. */
  close(): void
}

/**
 * Changes over Redis pub/sub on `channel`. Publishing uses the (guarded) command client. Listening
 * needs a connection of its own in subscriber mode: it is opened with `source.duplicate()` when
 * the first listener subscribes, and disconnected when the last one leaves or on `close()`. The
 * caller's client is never put in subscriber mode, quit or disconnected.
 *
 * The subscriber reconnects by itself (ioredis's retry strategy) and subscribes again on every
 * `ready`. Messages published while it was disconnected are lost: instances then see the change
 * within their `cacheTtl`. Connection errors and malformed messages go to `onError`, never to a
 * request.
 */
export function createRedisChangeFeed(options: {
  client: RedisClient
  source: RedisClient
  channel: string
  onError: (error: unknown) => void
}): RedisChangeFeed | undefined {
  const { client, source, channel, onError } = options
  const duplicate = source.duplicate
  if (typeof duplicate !== 'function') return undefined
  const listeners = new Set<(change: StoreChange) => void>()
  let subscriber: RedisSubscriber | undefined

  const deliver = (message: string) =>
    deliverStoreChange(message, listeners, onError, `the Redis channel ${channel}`)

  const open = (): RedisSubscriber => {
    const connection = duplicate.call(source)
    // A listener keeps ioredis from printing "Unhandled error event" on every failed reconnect.
    connection.on('error', (error: unknown) => onError(error))
    connection.on('ready', () => {
      connection.subscribe(channel).catch(onError)
    })
    connection.on('message', (from: unknown, message: unknown) => {
      if (String(from) === channel) deliver(String(message))
    })
    if (connection.status === 'wait') connection.connect?.().catch(onError)
    return connection
  }

  const stop = () => {
    subscriber?.disconnect()
    subscriber = undefined
  }

  return {
    async publish(change) {
      await client.call('PUBLISH', channel, serializeStoreChange(change))
    },
    subscribe(listener) {
      // Wrapped, so the same function subscribed twice is two subscriptions.
      const entry = (change: StoreChange) => listener(change)
      listeners.add(entry)
      subscriber ??= open()
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        listeners.delete(entry)
        if (listeners.size === 0) stop()
      }
    },
    close() {
      listeners.clear()
      stop()
    },
  }
}
