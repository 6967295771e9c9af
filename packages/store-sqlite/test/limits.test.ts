import type { AuditEvent, RefreshTokenRecord } from '@apimw/core'
import BetterSqlite3 from 'better-sqlite3'
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest'
import type { SqliteStore, SqliteStoreOptions } from '../src/index.js'
import { createSqliteStore } from '../src/index.js'

const NOW = 1_700_000_000

const event = (i: number): AuditEvent => ({
  type: 'auth.failed',
  at: new Date((NOW + i) * 1000).toISOString(),
  details: { i },
})

const token = (i: number, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  hash: `sha256:${i}`,
  familyId: `family-${i}`,
  keyId: 'apimw_test_k',
  scopes: ['a'],
  environment: 'test',
  issuedAt: NOW + 10,
  expiresAt: NOW + 3600,
  usedAt: null,
  familyRevokedAt: null,
  ...overrides,
})

/** A store on a caller-owned in-memory database, both closed after the test. */
function open(options: Omit<SqliteStoreOptions, 'path' | 'database'> = {}) {
  const db = new BetterSqlite3(':memory:')
  const store = createSqliteStore({ database: db, ...options })
  onTestFinished(async () => {
    await store.close()
    db.close()
  })
  const count = (table: string) =>
    (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  return { db, store, count }
}

describe('maxAuditEvents', () => {
  it('keeps the newest maxAuditEvents, checked every 1000 writes', async () => {
    const { store, count } = open({ maxAuditEvents: 3 })
    for (let i = 1; i <= 1003; i++) await store.audit.write(event(i))
    // The 1000th write kept 998–1000; three more came after it.
    expect(count('audit_events')).toBe(6)
    expect((await store.audit.tail({ limit: 100 })).map((e) => e.details?.i)).toEqual([
      998, 999, 1000, 1001, 1002, 1003,
    ])
  })

  it('is bounded by default, at 1 000 000 events', async () => {
    const { db, store, count } = open()
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
             INSERT INTO audit_events (type, at) SELECT 'auth.failed', 'old' FROM n`)
    for (let i = 1; i <= 1000; i++) await store.audit.write(event(i))
    expect(count('audit_events')).toBe(1_000_000)
    expect((await store.audit.tail({ limit: 1 }))[0]).toEqual(event(1000))
  })

  it('null keeps every event', async () => {
    const { store, count } = open({ maxAuditEvents: null })
    for (let i = 1; i <= 1001; i++) await store.audit.write(event(i))
    expect(count('audit_events')).toBe(1001)
  })

  it.each([0, -1, 1.5, '10'])('rejects %o with a TypeError, creating nothing', (bad) => {
    const options = { path: ':memory:', maxAuditEvents: bad } as unknown as SqliteStoreOptions
    expect(() => createSqliteStore(options)).toThrow(/"maxAuditEvents"/)
  })
})

describe('clean-up after a write', () => {
  it('a failing refresh-token sweep does not fail the create that triggered it', async () => {
    const { db, store, count } = open()
    await store.refreshTokens.create(token(0, { issuedAt: NOW, expiresAt: NOW + 1 }))
    db.exec(`CREATE TRIGGER no_prune BEFORE DELETE ON refresh_families
             BEGIN SELECT RAISE(ABORT, 'pruning refused'); END`)
    // The 1000th create sweeps the expired family-0, and the trigger makes the sweep fail.
    for (let i = 1; i < 1000; i++) await store.refreshTokens.create(token(i))
    expect(await store.refreshTokens.find('sha256:999')).toEqual(token(999))
    expect(count('refresh_families')).toBe(1000)
    db.exec('DROP TRIGGER no_prune')
    for (let i = 1000; i < 2000; i++) await store.refreshTokens.create(token(i))
    expect(await store.refreshTokens.find('sha256:0')).toBeUndefined()
  })

  it('a failing audit trim does not fail the write that triggered it', async () => {
    const { db, store, count } = open({ maxAuditEvents: 3 })
    db.exec(`CREATE TRIGGER no_trim BEFORE DELETE ON audit_events
             BEGIN SELECT RAISE(ABORT, 'trimming refused'); END`)
    for (let i = 1; i <= 1000; i++) await store.audit.write(event(i))
    expect(count('audit_events')).toBe(1000)
  })
})

describe('createSqliteStore', () => {
  it('returns a SqliteStore whose close() is always there, and can be called twice', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    expectTypeOf(store).toEqualTypeOf<SqliteStore>()
    expectTypeOf(store.close).toEqualTypeOf<() => Promise<void>>()
    await store.close()
    await store.close()
  })
})
