import type { ApiKeyRecord, ApiKeyStore, Environment, SecretHash } from '@apimw/core'
import { toNullableNumber, toNumber } from './sql.js'
import type { StoreContext } from './store-context.js'
import { hasNul } from './text.js'
import type { TouchBuffer } from './touch-buffer.js'
import { createTouchBuffer } from './touch-buffer.js'

interface ApiKeyRow {
  key: string
  name: string
  environment: string
  scopes: string[]
  allowed_ips: string[]
  secrets: SecretHash[]
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  metadata: Record<string, unknown>
}

const columns =
  'key, name, environment, scopes, allowed_ips, secrets, created_at, expires_at, revoked_at, last_used_at, metadata'

const secretHash = ({ hash, expiresAt }: SecretHash): SecretHash => ({ hash, expiresAt })

/** The key store, plus the touch buffer that `close()` flushes. */
export interface PostgresApiKeyStore extends ApiKeyStore {
  touches: TouchBuffer
}

/**
 * API keys in `api_keys`. `rotateSecret` and `revoke` are single conditional `UPDATE ... RETURNING`
 * statements (atomic), each in a transaction that never commits after a timeout; `touch` is buffered (see {@link createTouchBuffer}) and `get`/`list` merge
 * this process's buffered touches into what they read.
 */
export function createApiKeyStore(db: StoreContext): PostgresApiKeyStore {
  const { t } = db

  const touches = createTouchBuffer({
    intervalMs: db.options.touchFlushIntervalMs,
    maxKeys: db.options.touchBatchSize,
    write: (entries) => {
      const [only] = entries
      if (entries.length === 1 && only) {
        return db
          .write(
            `UPDATE ${t.apiKeys} SET last_used_at = $2
             WHERE key = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
            only,
          )
          .then(() => undefined)
      }
      return db.transaction(async (client) => {
        const keys = entries.map(([key]) => key)
        // Lock the rows in key order first: two processes flushing overlapping batches then wait
        // for each other instead of deadlocking.
        await client.query(
          `SELECT key FROM ${t.apiKeys} WHERE key = ANY($1::text[]) ORDER BY key FOR NO KEY UPDATE`,
          [keys],
        )
        await client.query(
          `UPDATE ${t.apiKeys} AS k SET last_used_at = v.at
           FROM unnest($1::text[], $2::bigint[]) AS v(key, at)
           WHERE k.key = v.key AND (k.last_used_at IS NULL OR k.last_used_at < v.at)`,
          [keys, entries.map(([, at]) => at)],
        )
      })
    },
  })

  const toRecord = (row: ApiKeyRow): ApiKeyRecord => {
    const lastUsedAt = toNullableNumber(row.last_used_at)
    const pending = touches.pending(row.key)
    return {
      key: row.key,
      name: row.name,
      environment: row.environment as Environment,
      scopes: row.scopes,
      allowedIps: row.allowed_ips,
      secrets: row.secrets.map(secretHash),
      createdAt: toNumber(row.created_at),
      expiresAt: toNullableNumber(row.expires_at),
      revokedAt: toNullableNumber(row.revoked_at),
      lastUsedAt:
        pending !== undefined && (lastUsedAt === null || pending > lastUsedAt)
          ? pending
          : lastUsedAt,
      metadata: row.metadata,
    }
  }

  /** The record a read (`query`) or a write (`write`) returns, if any. */
  const one = async (
    run: StoreContext['query'],
    text: string,
    values: [string, ...unknown[]],
  ): Promise<ApiKeyRecord | undefined> => {
    if (hasNul(values[0])) return undefined
    const { rows } = await run<ApiKeyRow>(text, values)
    return rows[0] && toRecord(rows[0])
  }

  return {
    touches,

    get(key) {
      return one(db.query, `SELECT ${columns} FROM ${t.apiKeys} WHERE key = $1`, [key])
    },

    async create(record) {
      const { rowCount } = await db.write(
        `INSERT INTO ${t.apiKeys} (${columns})
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11::json)
         ON CONFLICT (key) DO NOTHING`,
        [
          record.key,
          record.name,
          record.environment,
          record.scopes,
          record.allowedIps,
          JSON.stringify(record.secrets.map(secretHash)),
          record.createdAt,
          record.expiresAt,
          record.revokedAt,
          record.lastUsedAt,
          JSON.stringify(record.metadata),
        ],
      )
      if (rowCount !== 1) throw new Error(`API key ${record.key} exists`)
    },

    async list() {
      const { rows } = await db.query<ApiKeyRow>(
        `SELECT ${columns} FROM ${t.apiKeys} ORDER BY created_at, seq`,
      )
      return rows.map(toRecord)
    },

    rotateSecret(key, next, previousExpiresAt) {
      return one(
        db.write,
        // Idempotent: when the new secret is the current one already (a retried call), the
        // secrets stay as they are.
        `UPDATE ${t.apiKeys}
         SET secrets = CASE
           WHEN secrets -> 0 ->> 'hash' = $2::jsonb ->> 'hash' THEN secrets
           ELSE jsonb_build_array($2::jsonb) || CASE
             WHEN jsonb_array_length(secrets) = 0 THEN '[]'::jsonb
             ELSE jsonb_build_array(jsonb_set(secrets -> 0, '{expiresAt}', to_jsonb($3::bigint)))
           END
         END
         WHERE key = $1 AND revoked_at IS NULL
         RETURNING ${columns}`,
        [key, JSON.stringify(secretHash(next)), previousExpiresAt],
      )
    },

    revoke(key, at) {
      return one(
        db.write,
        `UPDATE ${t.apiKeys} SET revoked_at = COALESCE(revoked_at, $2)
         WHERE key = $1 RETURNING ${columns}`,
        [key, at],
      )
    },

    async touch(key, at) {
      if (!hasNul(key)) await touches.add(key, at)
    },
  }
}
