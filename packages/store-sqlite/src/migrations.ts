import type { Database } from 'better-sqlite3'
import { prepare } from './statement.js'

/** One forward-only schema change. Versions start at 1 and grow by one. */
export interface Migration {
  version: number
  name: string
  sql: string
}

/**
 * The schema, oldest change first. Never edit a released migration: append a new one. Timestamps are
 * INTEGER seconds since the epoch; arrays and objects are JSON in TEXT columns.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE api_keys (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        environment TEXT NOT NULL CHECK (environment IN ('test', 'live')),
        scopes TEXT NOT NULL CHECK (json_valid(scopes)),
        allowed_ips TEXT NOT NULL CHECK (json_valid(allowed_ips)),
        secrets TEXT NOT NULL CHECK (json_valid(secrets)),
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        last_used_at INTEGER,
        metadata TEXT NOT NULL CHECK (json_valid(metadata))
      );
      CREATE INDEX api_keys_created_at ON api_keys (created_at);

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL CHECK (json_valid(public_jwk)),
        private_jwk TEXT NOT NULL CHECK (json_valid(private_jwk)),
        created_at INTEGER NOT NULL,
        rotated_at INTEGER,
        not_after INTEGER
      );
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE rotated_at IS NULL;

      CREATE TABLE refresh_families (
        family_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        scopes TEXT NOT NULL CHECK (json_valid(scopes)),
        environment TEXT NOT NULL CHECK (environment IN ('test', 'live')),
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX refresh_families_key_id ON refresh_families (key_id);

      CREATE TABLE refresh_tokens (
        hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES refresh_families (family_id) ON DELETE CASCADE,
        issued_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

      CREATE TABLE revocations (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX revocations_expires_at ON revocations (expires_at);

      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        reset_at INTEGER NOT NULL
      );
      CREATE INDEX counters_reset_at ON counters (reset_at);

      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        key_id TEXT,
        ip TEXT,
        reason TEXT,
        request_id TEXT,
        details TEXT CHECK (details IS NULL OR json_valid(details))
      );
      CREATE INDEX audit_events_key_id ON audit_events (key_id, id);
    `,
  },
  {
    version: 2,
    name: 'refresh token replaced_by',
    // The hash of the token a rotation issued for this one: a replayed rotation is recognised.
    sql: 'ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;',
  },
]

/** The schema version this package writes. */
export const schemaVersion: number = migrations.reduce((max, m) => Math.max(max, m.version), 0)

const createMigrationsTable = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL DEFAULT (unixepoch())
  )
`

/**
 * Brings the schema up to {@link schemaVersion}; returns the versions it applied (none when the
 * file is up to date). Pending migrations run in one `BEGIN IMMEDIATE` transaction that re-reads
 * the version once it holds the write lock, so processes opening a new file at the same time apply
 * each migration exactly once. Throws if the file was written by a newer version of this package.
 */
export function migrate(db: Database): number[] {
  if (checkedVersion(db) === schemaVersion) return []
  const run = db.transaction((): number[] => {
    db.exec(createMigrationsTable)
    const current = checkedVersion(db)
    const pending = migrations.filter((m) => m.version > current)
    const record = prepare<[number, string]>(
      db,
      'INSERT INTO schema_migrations (version, name) VALUES (?, ?)',
    )
    for (const migration of pending) {
      db.exec(migration.sql)
      record.run(migration.version, migration.name)
    }
    return pending.map((m) => m.version)
  })
  return run.immediate()
}

/** The version recorded in `schema_migrations` (0 for a new file). */
export function currentVersion(db: Database): number {
  const table = prepare<[], { name: string }>(
    db,
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
  ).get()
  if (!table) return 0
  const row = prepare<[], { version: number | null }>(
    db,
    'SELECT MAX(version) AS version FROM schema_migrations',
  ).get()
  return row?.version ?? 0
}

function checkedVersion(db: Database): number {
  const version = currentVersion(db)
  if (version > schemaVersion) {
    throw new Error(
      `SQLite schema version ${version} is newer than this @apimw/store-sqlite supports (${schemaVersion}): upgrade the package`,
    )
  }
  return version
}
