import { randomBytes } from 'node:crypto'
import type { ApimwStore } from '@apimw/core'
import { Redis } from 'ioredis'
import { Redis as Redis6 } from 'ioredis-v6'
import { afterEach, beforeEach } from 'vitest'
import type { RedisClient } from '../src/index.js'
import { createRedisStore } from '../src/index.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A connection that can also be quit: what a test opens and closes itself. */
export type TestClient = RedisClient & { quit(): Promise<unknown> }

/** The two ioredis lines the store supports: 5.x (RESP2) and 6.x (RESP3 by default). */
export const drivers: { name: string; connect(): TestClient }[] = [
  { name: 'ioredis 5', connect: () => new Redis(REDIS_URL) },
  { name: 'ioredis 6', connect: () => new Redis6(REDIS_URL) },
]

export const randomPrefix = (): string => `apimw-test:${randomBytes(8).toString('hex')}:`

/** Every key under `prefix`, sorted (SCAN). */
export async function keysUnder(client: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const reply = (await client.call('SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)) as [
      string,
      string[],
    ]
    cursor = reply[0]
    found.push(...reply[1])
  } while (cursor !== '0')
  return found.sort()
}

/** Deletes every key under `prefix` (SCAN + DEL), as a test's cleanup. */
export async function deleteKeys(client: RedisClient, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix)
  for (let i = 0; i < keys.length; i += 500) await client.call('DEL', ...keys.slice(i, i + 500))
}

export interface RedisFixture {
  /** Two separate connections, as two processes would have. */
  clients: [TestClient, TestClient]
  prefix: string
  /** One store per connection, both on `prefix`. */
  stores: [ApimwStore, ApimwStore]
}

/** Per test: two fresh connections and a random key prefix, everything under it deleted after. */
export function useRedis(driver: (typeof drivers)[number]): () => RedisFixture {
  let fixture: RedisFixture | undefined
  beforeEach(() => {
    const clients: [TestClient, TestClient] = [driver.connect(), driver.connect()]
    const prefix = randomPrefix()
    fixture = {
      clients,
      prefix,
      stores: [
        createRedisStore({ client: clients[0], keyPrefix: prefix }),
        createRedisStore({ client: clients[1], keyPrefix: prefix }),
      ],
    }
  })
  afterEach(async () => {
    if (!fixture) return
    await deleteKeys(fixture.clients[0], fixture.prefix)
    await Promise.all(fixture.clients.map((client) => client.quit()))
    fixture = undefined
  })
  return () => {
    if (!fixture) throw new Error('useRedis: no fixture outside a test')
    return fixture
  }
}
