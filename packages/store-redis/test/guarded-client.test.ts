import { EventEmitter } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RedisClient } from '../src/index.js'
import { createRedisStore, RedisUnavailableError } from '../src/index.js'

const NOW = 1_700_000_000

/** A client in a given ioredis state whose commands answer only when the test says so. */
class FakeClient extends EventEmitter implements RedisClient {
  status: string
  sent: string[] = []
  pending: { resolve(value: unknown): void; reject(error: Error): void }[] = []
  constructor(status: string) {
    super()
    this.status = status
  }
  call(command: string): Promise<unknown> {
    this.sent.push(command)
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }))
  }
  /** What ioredis does: the status changes first, the event follows. */
  become(status: string): void {
    this.status = status
    this.emit(status)
  }
}

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeEach(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 10))
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled.splice(0)).toEqual([])
})

describe('commands while the connection is down or slow', () => {
  it.each(['reconnecting', 'close', 'end'])(
    'fail at once while the connection is %s, without queueing the command',
    async (status) => {
      const client = new FakeClient(status)
      const store = createRedisStore({ client, changes: false })
      const error = await store.counters.get('c', NOW).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RedisUnavailableError)
      expect((error as RedisUnavailableError).reason).toBe('disconnected')
      expect(client.sent).toEqual([])
    },
  )

  it('give up after commandTimeoutMs, and a late failure is not an unhandled rejection', async () => {
    const client = new FakeClient('ready')
    const store = createRedisStore({ client, commandTimeoutMs: 30, changes: false })
    const error = await store.revocations.isRevoked('j', NOW).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RedisUnavailableError)
    expect((error as RedisUnavailableError).reason).toBe('timeout')
    client.pending[0]?.reject(new Error('Connection is closed.'))
  })

  it('wait for ready while the connection opens, then send', async () => {
    const client = new FakeClient('connecting')
    const store = createRedisStore({ client, changes: false })
    const results = Array.from({ length: 20 }, () => store.revocations.isRevoked('j', NOW))
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(client.sent).toEqual([])
    // One set of listeners for every waiter: no MaxListenersExceededWarning.
    expect(client.listenerCount('ready')).toBe(1)
    client.become('ready')
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(client.sent).toHaveLength(20)
    for (const pending of client.pending) pending.resolve(null)
    expect(await Promise.all(results)).toEqual(Array(20).fill(false))
    expect(client.listenerCount('ready')).toBe(0)
    expect(client.listenerCount('close')).toBe(0)
  })

  it('fail when the connection attempt fails', async () => {
    const client = new FakeClient('connecting')
    const store = createRedisStore({ client, changes: false })
    const result = store.keys.get('apimw_test_k').catch((e: unknown) => e)
    client.become('close')
    expect(await result).toBeInstanceOf(RedisUnavailableError)
    expect(client.sent).toEqual([])
  })

  it('fail within milliseconds on a real client whose server is down (ioredis alone would retry for seconds)', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
      })
    })
    const client = new Redis({ port, host: '127.0.0.1' })
    client.on('error', () => {})
    try {
      const store = createRedisStore({ client, changes: false })
      const started = performance.now()
      await expect(store.counters.increment('c', 60, NOW)).rejects.toThrow()
      await expect(store.keys.get('apimw_test_k')).rejects.toBeInstanceOf(RedisUnavailableError)
      expect(performance.now() - started).toBeLessThan(1_000)
    } finally {
      client.disconnect()
    }
  })
})
