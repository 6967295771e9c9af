import { randomBytes } from 'node:crypto'
import { createRedisStore } from '@apimw/store-redis'
import { Redis } from 'ioredis'
import { defineStoreSuite } from './define-store-suite.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Deletes every key under `prefix`, SCAN + DEL (never KEYS or FLUSHDB: the server is shared). */
async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

defineStoreSuite(
  'redis store',
  async () => {
    const client = new Redis(REDIS_URL)
    const keyPrefix = `apimw-suite:${randomBytes(8).toString('hex')}:`
    return {
      store: createRedisStore({ client, keyPrefix }),
      keyPrefix,
      cleanup: async () => {
        await deleteKeys(client, keyPrefix)
        await client.quit()
      },
    }
  },
  {
    openSecond: async ({ keyPrefix }) => {
      const client = new Redis(REDIS_URL)
      return {
        store: createRedisStore({ client, keyPrefix }),
        cleanup: async () => {
          await client.quit()
        },
      }
    },
  },
)
