import { randomBytes } from 'node:crypto'
import type { ApimwStore } from '@apimw/core'
import type { PostgresStoreOptions } from '@apimw/store-postgres'
import { createPostgresStore } from '@apimw/store-postgres'
import type { RedisStoreOptions } from '@apimw/store-redis'
import { createRedisStore } from '@apimw/store-redis'
import { Redis } from 'ioredis'
import pg from 'pg'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A store on a connection of its own (an ioredis client or a pg pool), as another process has. */
export interface OpenedStore {
  store: ApimwStore & { close(): Promise<void> }
  /** Requests sent to the server through this connection so far (commands or queries). */
  roundTrips(): number
  /**
   * Has the server end this store's connections, as a restart or a network failure would: only
   * the change feed's (`feed`), or every one of them (`all`). Resolves with how many it ended.
   */
  kill(which: 'feed' | 'all'): Promise<number>
}

export interface StoreOptions {
  changes?: boolean
  onError?: (error: unknown) => void
}

/** One test's namespace (a Redis key prefix or a PostgreSQL schema) on a real server. */
export interface Namespace {
  /** The prefix or schema. */
  id: string
  /** Environment for a server process on this namespace (see fixtures/server.ts). */
  env: Record<string, string>
  open(options?: StoreOptions): OpenedStore
  /** Closes every store and connection it opened, then deletes everything in the namespace. */
  cleanup(): Promise<void>
}

export interface Backend {
  name: 'redis' | 'postgres'
  namespace(): Namespace
}

const random = () => randomBytes(6).toString('hex')

/** Counts calls of `methods` on `target`, forwarding everything. */
function counting<T extends object>(target: T, methods: string[], count: () => void): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object)
      if (typeof value !== 'function') return value
      if (typeof property === 'string' && methods.includes(property)) {
        return (...args: unknown[]) => {
          count()
          return value.apply(object, args)
        }
      }
      return value.bind(object)
    },
  })
}

export const redisBackend: Backend = {
  name: 'redis',
  namespace() {
    const id = `apimw-mi:${random()}:`
    const opened: { store: OpenedStore['store']; client: Redis }[] = []
    return {
      id,
      env: { TEST_STORE: 'redis', REDIS_URL, TEST_PREFIX: id },
      open(options: Partial<RedisStoreOptions> = {}) {
        // Named, so that kill() finds this client and its duplicate (same options) in CLIENT LIST.
        const name = `apimw-mi-${random()}`
        const client = new Redis(REDIS_URL, { connectionName: name })
        client.on('error', () => {})
        let calls = 0
        const store = createRedisStore({
          ...options,
          client: counting(client, ['call'], () => calls++),
          keyPrefix: id,
        })
        opened.push({ store, client })
        return {
          store,
          roundTrips: () => calls,
          async kill(which) {
            const admin = new Redis(REDIS_URL)
            try {
              const list = String(await admin.call('CLIENT', 'LIST'))
              const ids = list
                .split('\n')
                .filter((line) => line.includes(` name=${name} `))
                .filter((line) => which === 'all' || /\bsub=[1-9]/.test(line))
                .map((line) => /\bid=(\d+)/.exec(line)?.[1])
              for (const id of ids) if (id) await admin.call('CLIENT', 'KILL', 'ID', id)
              return ids.length
            } finally {
              await admin.quit()
            }
          },
        }
      },
      async cleanup() {
        await Promise.allSettled(opened.map(({ store }) => store.close()))
        const admin = new Redis(REDIS_URL)
        try {
          let cursor = '0'
          do {
            const [next, keys] = await admin.scan(cursor, 'MATCH', `${id}*`, 'COUNT', 1000)
            if (keys.length > 0) await admin.del(...keys)
            cursor = next
          } while (cursor !== '0')
        } finally {
          await admin.quit()
          await Promise.allSettled(opened.map(({ client }) => client.quit()))
        }
      },
    }
  },
}

export const postgresBackend: Backend = {
  name: 'postgres',
  namespace() {
    const id = `apimw_mi_${random()}`
    const opened: { store: OpenedStore['store']; pool: pg.Pool }[] = []
    return {
      id,
      env: { TEST_STORE: 'postgres', DATABASE_URL, TEST_SCHEMA: id },
      open(options: Partial<PostgresStoreOptions> = {}) {
        // Named, so that kill() finds this pool's sessions in pg_stat_activity.
        const name = `apimw-mi-${random()}`
        const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 5, application_name: name })
        let calls = 0
        // A transaction counts once (its connect; its statements are not counted): none is on the guard's path.
        const counted = counting(pool, ['query', 'connect'], () => calls++)
        const store = createPostgresStore({ ...options, pool: counted, schema: id })
        opened.push({ store, pool })
        return {
          store,
          roundTrips: () => calls,
          async kill(which) {
            const admin = new pg.Client({ connectionString: DATABASE_URL })
            await admin.connect()
            try {
              const { rowCount } = await admin.query(
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1 AND ($2 OR query ILIKE 'LISTEN%')`,
                [name, which === 'all'],
              )
              return rowCount ?? 0
            } finally {
              await admin.end()
            }
          },
        }
      },
      async cleanup() {
        await Promise.allSettled(opened.map(({ store }) => store.close()))
        const admin = new pg.Client({ connectionString: DATABASE_URL })
        try {
          await admin.connect()
          await admin.query(`DROP SCHEMA IF EXISTS "${id}" CASCADE`)
        } finally {
          await admin.end()
          await Promise.allSettled(opened.map(({ pool }) => pool.end()))
        }
      },
    }
  },
}

export const backends: Backend[] = [redisBackend, postgresBackend]

/**
 * Resolves once `listening` hears what `publishing` publishes: proof that its subscriber
 * connection is in place (SUBSCRIBE and LISTEN are asynchronous). Call it after the instance that
 * must hear has been created, so that the probe shares that instance's subscription.
 */
export async function feedReady(listening: ApimwStore, publishing: ApimwStore): Promise<void> {
  const heard = new Set<string>()
  const stop = listening.changes?.subscribe((change) => {
    if (change.kind === 'key') heard.add(change.keyId)
  })
  if (!stop || !publishing.changes) throw new Error('feedReady: a store without a change feed')
  try {
    const deadline = performance.now() + 15_000
    while (performance.now() < deadline) {
      const probe = `probe-${random()}`
      // The publishing connection may still be reconnecting: try again until the deadline.
      const sent = await publishing.changes.publish({ kind: 'key', keyId: probe }).then(
        () => true,
        () => false,
      )
      if (!sent) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        continue
      }
      const until = performance.now() + 250
      while (!heard.has(probe) && performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      if (heard.has(probe)) return
    }
    throw new Error('feedReady: the change feed never delivered')
  } finally {
    stop()
  }
}
