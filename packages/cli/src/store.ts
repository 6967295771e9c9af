import { isAbsolute, resolve } from 'node:path'
import type { ApimwStore } from '@apimw/core'
import { createMemoryStore } from '@apimw/core'

/** A store URL that was checked (no I/O yet). */
export interface StoreUrl {
  /** The scheme without its colon: `memory`, `sqlite`, … */
  scheme: string
  /** The URL with any password replaced by `***`: safe to print and log. */
  redacted: string
}

export interface OpenStoreOptions {
  /**
   * A second store URL (`APIMW_TOKEN_STORE`) for the fast-changing state: refresh tokens,
   * revocations, rate-limit counters and the change feed. Keys, signing keys and audit stay in
   * the first. Typical: keys in PostgreSQL, tokens in Redis.
   */
  tokenStore?: string
  /**
   * The directory a relative `sqlite:` path resolves against. Default: `INIT_CWD` (pnpm sets it to
   * the directory the command was started from, CONTRACT §8), else `process.cwd()`.
   */
  cwd?: string
}

/** An open store and the function that releases it. */
export interface OpenedStore {
  store: ApimwStore
  /** Applies pending schema migrations (PostgreSQL); SQLite migrates on open, memory and Redis have no schema. */
  migrate(): Promise<number[]>
  close(): Promise<void>
}

/** A backend's store, with its explicit migration step where it has one. */
type BackendStore = ApimwStore & { migrate?(): Promise<number[]> }

type Opener = (options: { cwd: string }) => Promise<BackendStore>

/** One kind of store. */
interface Backend {
  /** What a URL of this kind looks like, for messages. */
  readonly example: string
  /**
   * Checks the URL without I/O (a `TypeError` if malformed, never repeating a password) and returns
   * how to open the store. `rest` is the URL after `<scheme>:`.
   */
  parse(rest: string, url: string): Opener
}

/**
 * The store URL schemes the CLI knows. Another backend (Redis, Postgres) is one more entry here:
 * parse the URL without connecting, and return a function that connects.
 */
const BACKENDS: Readonly<Record<string, Backend>> = {
  memory: {
    example: 'memory:',
    parse(rest) {
      if (rest !== '') throw new TypeError('the store URL "memory:" takes nothing after the colon')
      return async () => createMemoryStore()
    },
  },
  sqlite: {
    example: 'sqlite:<path>',
    parse(rest) {
      const path = rest.startsWith('//') ? rest.slice(2) : rest
      if (path === '') {
        throw new TypeError(
          'the store URL "sqlite:" needs a file path, e.g. sqlite:.apimw/apimw.db',
        )
      }
      if (path.includes('\0')) throw new TypeError('the sqlite store path contains a NUL character')
      return async ({ cwd }) => {
        // Loaded on use, like every driver: `memory:` never loads the native SQLite module.
        const { createSqliteStore } = await import('@apimw/store-sqlite')
        return createSqliteStore({
          path: path === ':memory:' || isAbsolute(path) ? path : resolve(cwd, path),
        })
      }
    },
  },
  redis: networkBackend(
    'redis://[:password@]host:6379[/db][?prefix=apimw:]',
    'prefix',
    'apimw:',
    async (url, prefix) => {
      const [{ Redis }, { createRedisStore }] = await Promise.all([
        import('ioredis'),
        import('@apimw/store-redis'),
      ])
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      // Errors surface through the calls that fail; unheard, ioredis would print each one.
      let lastError: unknown
      client.on('error', (error: unknown) => {
        lastError = error
      })
      try {
        await client.connect()
      } catch (error) {
        client.disconnect() // stops the reconnect loop, or the process would never exit
        throw lastError ?? error
      }
      const store = createRedisStore({ client, keyPrefix: prefix })
      return withClose(store, async () => {
        await store.close?.()
        client.disconnect()
      })
    },
  ),
  postgres: networkBackend(
    'postgres://user[:password]@host:5432/db[?schema=apimw]',
    'schema',
    'apimw',
    async (url, schema) => {
      const [{ default: pg }, { createPostgresStore, migrate }] = await Promise.all([
        import('pg'),
        import('@apimw/store-postgres'),
      ])
      const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 })
      pool.on('error', () => {}) // an idle client's error surfaces on its next query
      const store = createPostgresStore({ pool, schema })
      return {
        ...withClose(store, async () => {
          await store.close?.()
          await pool.end()
        }),
        migrate: () => migrate(pool, schema),
      }
    },
  ),
}

/** `rediss:` and `postgresql:` are the same backends under their other names. */
const ALIASES: Readonly<Record<string, string>> = { rediss: 'redis', postgresql: 'postgres' }

/**
 * A server URL backend: the URL goes to the driver as is, less our own query parameter (`prefix`
 * for Redis, `schema` for PostgreSQL), which names where APIMW's data lives on that server.
 */
function networkBackend(
  example: string,
  parameter: string,
  fallback: string,
  open: (url: string, value: string) => Promise<BackendStore>,
): Backend {
  return {
    example,
    parse(_rest, url) {
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        throw new TypeError(`the store URL is not a valid URL; expected ${example}`)
      }
      if (parsed.hostname === '')
        throw new TypeError(`the store URL has no host; expected ${example}`)
      const value = parsed.searchParams.get(parameter) ?? fallback
      parsed.searchParams.delete(parameter)
      return () => open(parsed.href, value)
    },
  }
}

const withClose = (store: ApimwStore, close: () => Promise<void>): ApimwStore => ({
  ...store,
  close,
})

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/

function backendFor(url: string): { scheme: string; open: Opener } {
  if (typeof url !== 'string') throw new TypeError('the store URL must be a string')
  const match = SCHEME.exec(url)
  const named = match?.[1]?.toLowerCase()
  const scheme = named === undefined ? undefined : (ALIASES[named] ?? named)
  const backend = scheme === undefined ? undefined : BACKENDS[scheme]
  if (match === null || scheme === undefined || backend === undefined) {
    const known = Object.values(BACKENDS)
      .map((entry) => entry.example)
      .join(', ')
    // Only the scheme is echoed: the rest of an unknown URL may hold a password.
    const what =
      scheme === undefined ? 'a store URL without a scheme' : `unknown store scheme "${scheme}:"`
    throw new TypeError(`${what}; use one of ${known}`)
  }
  return { scheme, open: backend.parse(url.slice(match[0].length), url) }
}

/**
 * Checks a store URL (`memory:`, `sqlite:<path>`) without opening anything. An unknown scheme or a
 * malformed URL throws a `TypeError` whose message never repeats a password.
 *
 * @example
 * parseStoreUrl('sqlite:.apimw/apimw.db') // { scheme: 'sqlite', redacted: 'sqlite:.apimw/apimw.db' }
 */
export function parseStoreUrl(url: string): StoreUrl {
  const { scheme } = backendFor(url)
  return { scheme, redacted: redactStoreUrl(url) }
}

/**
 * Opens the store a URL names: `memory:` (a new, empty in-memory store) or `sqlite:<path>` (the
 * file and its parent directory are created if missing; a relative path resolves against `cwd`,
 * by default the directory pnpm was started from, so `pnpm start` and `pnpm apimw` share a file).
 * A bad URL throws a `TypeError` before anything is opened; a store that cannot be opened rejects
 * with the driver's error.
 *
 * @example
 * const { store, close } = await openStore(configFromEnv(process.env).store)
 * try { console.log(await store.keys.list()) } finally { await close() }
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const { open } = backendFor(url)
  const second = options.tokenStore === undefined ? undefined : backendFor(options.tokenStore)
  const cwd = options.cwd ?? (process.env.INIT_CWD || process.cwd())
  const store = await open({ cwd })
  let tokens: BackendStore | undefined
  try {
    tokens = await second?.open({ cwd })
  } catch (error) {
    await store.close?.()
    throw error
  }
  return {
    store: tokens ? combineStores(store, tokens) : store,
    async migrate() {
      const applied = await Promise.all([store.migrate?.(), tokens?.migrate?.()])
      return applied.flatMap((versions) => versions ?? [])
    },
    async close() {
      await Promise.all([store.close?.(), tokens?.close?.()])
    },
  }
}

/** Keys, signing keys and audit from `main`; refresh tokens, revocations, counters and changes from `tokens`. */
export function combineStores(main: ApimwStore, tokens: ApimwStore): ApimwStore {
  return {
    keys: main.keys,
    signingKeys: main.signingKeys,
    audit: main.audit,
    refreshTokens: tokens.refreshTokens,
    revocations: tokens.revocations,
    counters: tokens.counters,
    ...((tokens.changes ?? main.changes) ? { changes: tokens.changes ?? main.changes } : {}),
  }
}

/** The URL with its password (if it has one) replaced by `***`. */
export function redactStoreUrl(url: string): string {
  if (passwordOf(url) === undefined) return url
  const parsed = new URL(url)
  parsed.password = '***'
  return parsed.href
}

/** Replaces every appearance of the URL's password in `text` (a driver's error message) by `***`. */
export function redactPassword(text: string, url: string): string {
  const password = passwordOf(url)
  if (password === undefined) return text
  let result = text.split(password).join('***')
  try {
    const decoded = decodeURIComponent(password)
    if (decoded !== '') result = result.split(decoded).join('***')
  } catch {
    // not percent-encoded: nothing else to hide
  }
  return result
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password
    return password === '' ? undefined : password
  } catch {
    return undefined
  }
}
