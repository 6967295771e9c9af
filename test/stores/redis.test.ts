import { createRedisStore } from '@apimw/store-redis'
// The package's test helper: the ioredis lines it supports (5.x, RESP2; 6.x, RESP3 by default).
import { deleteKeys, drivers, randomPrefix } from '../../packages/store-redis/test/redis-clients.js'
import { defineStoreSuite } from './define-store-suite.js'

for (const driver of drivers) {
  /** A store on a connection of its own; the owner's cleanup also deletes the prefix's keys. */
  const connect = (keyPrefix: string, owner: boolean) => {
    const client = driver.connect()
    const store = createRedisStore({ client, keyPrefix })
    const cleanup = async () => {
      try {
        await store.close()
        if (owner) await deleteKeys(client, keyPrefix)
      } finally {
        await client.quit()
      }
    }
    return { store, keyPrefix, cleanup }
  }

  defineStoreSuite(`redis store (${driver.name})`, async () => connect(randomPrefix(), true), {
    openSecond: async ({ keyPrefix }) => connect(keyPrefix, false),
    // Each rotate() is one Lua script.
    serialisedRotate: true,
  })
}
