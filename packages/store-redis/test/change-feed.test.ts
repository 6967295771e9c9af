import { describe, expect, it } from 'vitest'
import {
  expectFeedsApart,
  nextChanges,
  untilSubscribed,
} from '../../../test/stores/change-feed-probes.js'
import type { RedisClient, RedisSubscriber } from '../src/index.js'
import { createRedisStore } from '../src/index.js'
import type { TestClient } from './redis-clients.js'
import { drivers, randomPrefix, useRedis } from './redis-clients.js'

/** Waits (up to 2 s) for a connection to reach `status`: a disconnect completes asynchronously. */
async function reaches(connection: RedisSubscriber | undefined, status: string): Promise<boolean> {
  for (let i = 0; i < 400 && connection?.status !== status; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return connection?.status === status
}

/** A client whose duplicate() connections the test can see. */
function watched(client: TestClient): { client: RedisClient; duplicates: RedisSubscriber[] } {
  const duplicates: RedisSubscriber[] = []
  const proxy = new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target)
      if (property === 'duplicate' && typeof value === 'function') {
        return () => {
          const connection = value.call(target) as RedisSubscriber
          duplicates.push(connection)
          return connection
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { client: proxy, duplicates }
}

describe.each(drivers)('change feed ($name)', (driver) => {
  const redis = useRedis(driver)

  // Delivery between connections on one prefix is in the shared store suite (test/stores).
  it('delivers nothing to a store on another prefix', async () => {
    const { clients, prefix } = redis()
    const store = createRedisStore({ client: clients[0], keyPrefix: prefix })
    const other = createRedisStore({ client: clients[1], keyPrefix: randomPrefix() })
    try {
      await expectFeedsApart(store, other)
    } finally {
      await Promise.all([store.close(), other.close()])
    }
  })

  it("subscribes on a duplicate connection opened at the first subscribe and closed after the last; the caller's client stays up", async () => {
    const { clients, prefix } = redis()
    const { client, duplicates } = watched(clients[0])
    const store = createRedisStore({ client, keyPrefix: prefix })
    expect(duplicates).toHaveLength(0)
    const stopFirst = store.changes?.subscribe(() => {})
    const stopSecond = store.changes?.subscribe(() => {})
    expect(duplicates).toHaveLength(1)
    await untilSubscribed(store)
    stopFirst?.()
    stopFirst?.() // idempotent
    expect(duplicates[0]?.status).not.toBe('end')
    stopSecond?.()
    expect(await reaches(duplicates[0], 'end')).toBe(true)
    expect(clients[0].status).toBe('ready')
    expect(await clients[0].call('PING')).toBe('PONG')
    // Subscribing again opens a new connection.
    const stopAgain = store.changes?.subscribe(() => {})
    expect(duplicates).toHaveLength(2)
    await store.close()
    expect(await reaches(duplicates[1], 'end')).toBe(true)
    expect(clients[0].status).toBe('ready')
    stopAgain?.()
  })

  it('reports a malformed message to onError, ignores it and keeps delivering', async () => {
    const { clients, prefix } = redis()
    const errors: unknown[] = []
    const store = createRedisStore({
      client: clients[0],
      keyPrefix: prefix,
      onError: (e) => errors.push(e),
    })
    const failing = store.changes?.subscribe(() => {
      throw new Error('listener failed')
    })
    const got = nextChanges(store)
    try {
      await untilSubscribed(store)
      errors.length = 0
      await clients[1].call('PUBLISH', `${prefix}changes`, '{"kind":"key"}')
      await clients[1].call('PUBLISH', `${prefix}changes`, 'not json')
      await store.changes?.publish({ kind: 'access_token', jti: 'j' })
      expect(await got.changes).toEqual([{ kind: 'access_token', jti: 'j' }])
      const messages = errors.map((e) => (e as Error).message)
      expect(messages.filter((m) => m.includes('malformed'))).toHaveLength(2)
      expect(messages).toContain('listener failed')
    } finally {
      got.stop()
      failing?.()
      await store.close()
    }
  })

  it('has no feed with changes: false, or with a client that cannot duplicate()', () => {
    const { clients, prefix } = redis()
    expect(
      createRedisStore({ client: clients[0], keyPrefix: prefix, changes: false }).changes,
    ).toBeUndefined()
    expect(
      createRedisStore({ client: { call: clients[0].call.bind(clients[0]) } }).changes,
    ).toBeUndefined()
  })
})
