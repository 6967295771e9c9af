import { existsSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { SqliteStoreOptions } from '../src/index.js'
import { createSqliteStore } from '../src/index.js'
import { openDatabase } from '../src/open-database.js'
import { tempDir } from './fixtures/temp-dir.js'

const NOW = 1_700_000_000

describe('opening the database', () => {
  it('creates the missing parent directories of path', async () => {
    const path = join(await tempDir(), 'a', 'b', 'c', 'apimw.db')
    const store = createSqliteStore({ path })
    await store.close?.()
    expect(existsSync(path)).toBe(true)
  })

  it('opens a path in WAL mode with a 5000 ms busy timeout', async () => {
    const path = join(await tempDir(), 'apimw.db')
    const { db } = openDatabase({ path })
    onTestFinished(() => {
      db.close()
    })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000)
    const other = new BetterSqlite3(path)
    expect(other.pragma('journal_mode', { simple: true })).toBe('wal')
    other.close()
  })

  it('works in memory, one private database per store', async () => {
    const a = createSqliteStore({ path: ':memory:' })
    const b = createSqliteStore({ path: ':memory:' })
    await a.counters.increment('n', 60, NOW)
    expect(await a.counters.get('n', NOW)).toEqual({ count: 1, resetAt: NOW + 60 })
    expect(await b.counters.get('n', NOW)).toBeUndefined()
    await a.close?.()
    await b.close?.()
  })

  it('close() closes a database the store opened, and may be called twice', async () => {
    const store = createSqliteStore({ path: join(await tempDir(), 'apimw.db') })
    await store.close?.()
    await store.close?.()
    await expect(store.keys.get('apimw_test_x')).rejects.toThrow(/not open/)
  })

  it("close() leaves a caller's database open", async () => {
    const db = new BetterSqlite3(':memory:')
    onTestFinished(() => {
      db.close()
    })
    const store = createSqliteStore({ database: db })
    await store.close?.()
    expect(db.open).toBe(true)
  })

  it("sets a busy timeout on a caller's database only when it has none", () => {
    const none = new BetterSqlite3(':memory:', { timeout: 0 })
    const own = new BetterSqlite3(':memory:', { timeout: 1234 })
    createSqliteStore({ database: none })
    createSqliteStore({ database: own })
    expect(none.pragma('busy_timeout', { simple: true })).toBe(5000)
    expect(own.pragma('busy_timeout', { simple: true })).toBe(1234)
    none.close()
    own.close()
  })

  it('reads numbers from a connection that defaults to safe integers (BigInt)', async () => {
    const db = new BetterSqlite3(':memory:').defaultSafeIntegers(true)
    onTestFinished(() => {
      db.close()
    })
    const store = createSqliteStore({ database: db })
    expect(await store.counters.increment('n', 60, NOW)).toEqual({ count: 1, resetAt: NOW + 60 })
    await store.revocations.revoke('jti', NOW + 10)
    expect(await store.revocations.isRevoked('jti', NOW)).toBe(true)
    await store.signingKeys.activate({
      kid: 'k',
      alg: 'ES256',
      publicJwk: { kty: 'EC' },
      privateJwk: { kty: 'EC' },
      createdAt: NOW,
      rotatedAt: null,
      notAfter: null,
    })
    expect((await store.signingKeys.list())[0]?.createdAt).toBe(NOW)
  })

  it.each([
    [{}, /"path"/],
    [{ path: '' }, /"path" must be a non-empty string/],
    [{ path: 42 }, /"path" must be a non-empty string/],
    [{ database: {} }, /"database" must be an open better-sqlite3 Database/],
    [null, /options object/],
  ])('rejects bad options %o with a TypeError naming the option', (options, message) => {
    expect(() => createSqliteStore(options as unknown as SqliteStoreOptions)).toThrow(TypeError)
    expect(() => createSqliteStore(options as unknown as SqliteStoreOptions)).toThrow(message)
  })

  it('rejects both "path" and "database" at once', () => {
    const db = new BetterSqlite3(':memory:')
    const options = { path: ':memory:', database: db } as unknown as SqliteStoreOptions
    expect(() => createSqliteStore(options)).toThrow(/"path" and "database" cannot both be set/)
    db.close()
  })

  it('refuses a closed database', () => {
    const db = new BetterSqlite3(':memory:')
    db.close()
    expect(() => createSqliteStore({ database: db })).toThrow(/"database" must be an open/)
  })
})
