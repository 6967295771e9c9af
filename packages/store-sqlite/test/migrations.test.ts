import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createSqliteStore } from '../src/index.js'
import { currentVersion, migrate, migrations, schemaVersion } from '../src/migrations.js'
import { tempDir } from './fixtures/temp-dir.js'
import { startWorkers } from './fixtures/workers.js'

const tables = [
  'api_keys',
  'audit_events',
  'counters',
  'refresh_families',
  'refresh_tokens',
  'revocations',
  'schema_migrations',
  'signing_keys',
]

function connect(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path)
  onTestFinished(() => {
    db.close()
  })
  return db
}

const appliedRows = (db: BetterSqlite3.Database) =>
  db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()

const userTables = (db: BetterSqlite3.Database) =>
  db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((row) => row.name)

describe('migrations', () => {
  it('numbers migrations 1, 2, 3… without gaps', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1))
    expect(schemaVersion).toBe(migrations.length)
  })

  it('applies every migration once on a new file and records each in schema_migrations', async () => {
    const db = connect(join(await tempDir(), 'apimw.db'))
    expect(currentVersion(db)).toBe(0)
    expect(migrate(db)).toEqual(migrations.map((m) => m.version))
    expect(appliedRows(db)).toEqual(migrations.map(({ version, name }) => ({ version, name })))
    expect(userTables(db)).toEqual(tables)
    expect(currentVersion(db)).toBe(schemaVersion)
  })

  it('applies nothing when an up-to-date file is opened again, and keeps its data', async () => {
    const path = join(await tempDir(), 'apimw.db')
    const first = createSqliteStore({ path })
    await first.counters.increment('kept', 60, 1_700_000_000)
    await first.close?.()
    const second = createSqliteStore({ path })
    expect(await second.counters.get('kept', 1_700_000_000)).toEqual({
      count: 1,
      resetAt: 1_700_000_060,
    })
    await second.close?.()
    const db = connect(path)
    expect(migrate(db)).toEqual([])
    expect(appliedRows(db)).toHaveLength(migrations.length)
  })

  it('upgrades a version 1 file: a token used before the upgrade is a reuse when presented again', async () => {
    const path = join(await tempDir(), 'apimw.db')
    const db = connect(path)
    db.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL DEFAULT (unixepoch()))`)
    db.exec(migrations[0]!.sql)
    db.prepare("INSERT INTO schema_migrations (version, name) VALUES (1, 'initial schema')").run()
    db.exec(`INSERT INTO refresh_families VALUES ('f', 'k', '["a"]', 'test', 1700003600, NULL);
             INSERT INTO refresh_tokens VALUES ('sha256:old', 'f', 1700000000, 1700000010);`)
    const store = createSqliteStore({ path })
    try {
      expect(currentVersion(db)).toBe(schemaVersion)
      expect(await store.refreshTokens.rotate('sha256:old', 'sha256:new', 1_700_000_020)).toEqual({
        outcome: 'reused',
        previous: expect.objectContaining({
          usedAt: 1_700_000_010,
          familyRevokedAt: 1_700_000_020,
        }),
      })
    } finally {
      await store.close()
    }
  })

  it('creates the schema in a caller-owned database', () => {
    const db = connect(':memory:')
    createSqliteStore({ database: db })
    expect(userTables(db)).toEqual(tables)
  })

  it('refuses a file written by a newer version of the package', async () => {
    const path = join(await tempDir(), 'apimw.db')
    const db = connect(path)
    migrate(db)
    db.prepare("INSERT INTO schema_migrations (version, name) VALUES (?, 'from the future')").run(
      schemaVersion + 1,
    )
    expect(() => createSqliteStore({ path })).toThrow(/newer than this @apimw\/store-sqlite/)
    expect(() => migrate(db)).toThrow(/newer/)
  })

  it('applies each migration once when several processes open a new file at the same time', {
    timeout: 30_000,
  }, async () => {
    const path = join(await tempDir(), 'apimw.db')
    const workers = await startWorkers(6)
    try {
      await Promise.all(workers.map((worker) => worker.send({ op: 'open', path })))
      const db = connect(path)
      expect(appliedRows(db)).toEqual(migrations.map(({ version, name }) => ({ version, name })))
      expect(userTables(db)).toEqual(tables)
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()))
    }
  })
})
