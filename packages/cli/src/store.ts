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
   * The directory a relative `sqlite:` path resolves against. Default: `INIT_CWD` (pnpm sets it to
   * the directory the command was started from, CONTRACT §8), else `process.cwd()`.
   */
  cwd?: string
}

/** An open store and the function that releases it. */
export interface OpenedStore {
  store: ApimwStore
  close(): Promise<void>
}

type Opener = (options: { cwd: string }) => Promise<ApimwStore>

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
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/

function backendFor(url: string): { scheme: string; open: Opener } {
  if (typeof url !== 'string') throw new TypeError('the store URL must be a string')
  const match = SCHEME.exec(url)
  const scheme = match?.[1]?.toLowerCase()
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
  const store = await open({ cwd: options.cwd ?? (process.env.INIT_CWD || process.cwd()) })
  return {
    store,
    async close() {
      await store.close?.()
    },
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
