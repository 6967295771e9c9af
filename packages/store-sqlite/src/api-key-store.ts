import type { ApiKeyRecord, ApiKeyStore, Environment, SecretHash } from '@apimw/core'
import type { Database } from 'better-sqlite3'
import { fromJson, toJson } from './json.js'
import { prepare } from './statement.js'

interface ApiKeyRow {
  key: string
  name: string
  environment: string
  scopes: string
  allowed_ips: string
  secrets: string
  created_at: number
  expires_at: number | null
  revoked_at: number | null
  last_used_at: number | null
  metadata: string
}

const columns =
  'key, name, environment, scopes, allowed_ips, secrets, created_at, expires_at, revoked_at, last_used_at, metadata'

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    key: row.key,
    name: row.name,
    environment: row.environment as Environment,
    scopes: fromJson<string[]>(row.scopes),
    allowedIps: fromJson<string[]>(row.allowed_ips),
    secrets: fromJson<SecretHash[]>(row.secrets),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    metadata: fromJson<Record<string, unknown>>(row.metadata),
  }
}

const secretHash = ({ hash, expiresAt }: SecretHash): SecretHash => ({ hash, expiresAt })

/** API keys in `api_keys`, one row per key; scopes, IPs, secrets and metadata as JSON. */
export function createApiKeyStore(db: Database): ApiKeyStore {
  const select = prepare<[string], ApiKeyRow>(db, `SELECT ${columns} FROM api_keys WHERE key = ?`)
  const selectAll = prepare<[], ApiKeyRow>(
    db,
    `SELECT ${columns} FROM api_keys ORDER BY created_at, rowid`,
  )
  const insert = prepare<[ApiKeyRow]>(
    db,
    `INSERT INTO api_keys (${columns})
     VALUES (@key, @name, @environment, @scopes, @allowed_ips, @secrets, @created_at, @expires_at,
             @revoked_at, @last_used_at, @metadata)
     ON CONFLICT (key) DO NOTHING`,
  )
  const updateSecrets = prepare<[string, string], ApiKeyRow>(
    db,
    `UPDATE api_keys SET secrets = ? WHERE key = ? RETURNING ${columns}`,
  )
  const updateRevoked = prepare<[number, string], ApiKeyRow>(
    db,
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key = ? RETURNING ${columns}`,
  )
  const updateLastUsed = prepare<[{ key: string; at: number }]>(
    db,
    'UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, @at), @at) WHERE key = @key',
  )

  const rotateSecret = db.transaction(
    (key: string, next: SecretHash, previousExpiresAt: number): ApiKeyRecord | undefined => {
      const row = select.get(key)
      if (!row || row.revoked_at !== null) return undefined
      const [current] = fromJson<SecretHash[]>(row.secrets)
      // Idempotent: the new secret is the current one already (a retried call).
      if (current?.hash === next.hash) return toRecord(row)
      const secrets = current
        ? [secretHash(next), { hash: current.hash, expiresAt: previousExpiresAt }]
        : [secretHash(next)]
      const updated = updateSecrets.get(toJson(secrets), key)
      return updated && toRecord(updated)
    },
  )
  const revoke = db.transaction((key: string, at: number): ApiKeyRecord | undefined => {
    const row = updateRevoked.get(at, key)
    return row && toRecord(row)
  })

  return {
    async get(key) {
      if (typeof key !== 'string') return undefined
      const row = select.get(key)
      return row && toRecord(row)
    },
    async create(record) {
      const { changes } = insert.run({
        key: record.key,
        name: record.name,
        environment: record.environment,
        scopes: toJson(record.scopes),
        allowed_ips: toJson(record.allowedIps),
        secrets: toJson(record.secrets.map(secretHash)),
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        revoked_at: record.revokedAt,
        last_used_at: record.lastUsedAt,
        metadata: toJson(record.metadata),
      })
      if (changes === 0) throw new Error(`key ${record.key} exists`)
    },
    async list() {
      return selectAll.all().map(toRecord)
    },
    async rotateSecret(key, next, previousExpiresAt) {
      return rotateSecret.immediate(key, next, previousExpiresAt)
    },
    async revoke(key, at) {
      return revoke.immediate(key, at)
    },
    async touch(key, at) {
      updateLastUsed.run({ key, at })
    },
  }
}
