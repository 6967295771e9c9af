import type {
  Environment,
  RefreshRotation,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '@apimw/core'
import type { Database } from 'better-sqlite3'
import { fromJson, toJson } from './json.js'
import { periodically, prepare } from './statement.js'

interface RefreshTokenRow {
  hash: string
  family_id: string
  key_id: string
  scopes: string
  environment: string
  issued_at: number
  expires_at: number
  used_at: number | null
  revoked_at: number | null
  replaced_by: string | null
}

function toRecord(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    hash: row.hash,
    familyId: row.family_id,
    keyId: row.key_id,
    scopes: fromJson<string[]>(row.scopes),
    environment: row.environment as Environment,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    familyRevokedAt: row.revoked_at,
  }
}

/** Families created between two sweeps of expired ones. */
const PRUNE_EVERY = 1000

/**
 * Refresh tokens in two tables: `refresh_families` holds what a family shares (key, scopes,
 * environment, absolute expiry, revocation) and `refresh_tokens` one row per token of it, so a
 * rotation cannot change what the family grants. A used token keeps in `replaced_by` the hash of
 * the token issued for it, so that a repeated rotation (same token, same next hash) is told apart
 * from a reuse.
 */
export function createRefreshTokenStore(db: Database): RefreshTokenStore {
  const select = prepare<[string], RefreshTokenRow>(
    db,
    `SELECT t.hash, t.family_id, f.key_id, f.scopes, f.environment, t.issued_at, f.expires_at,
            t.used_at, f.revoked_at, t.replaced_by
     FROM refresh_tokens t JOIN refresh_families f ON f.family_id = t.family_id
     WHERE t.hash = ?`,
  )
  const insertFamily = prepare<
    [
      {
        family_id: string
        key_id: string
        scopes: string
        environment: string
        expires_at: number
        revoked_at: number | null
      },
    ]
  >(
    db,
    `INSERT INTO refresh_families (family_id, key_id, scopes, environment, expires_at, revoked_at)
     VALUES (@family_id, @key_id, @scopes, @environment, @expires_at, @revoked_at)
     ON CONFLICT (family_id) DO NOTHING`,
  )
  const insertToken = prepare<[string, string, number, number | null]>(
    db,
    `INSERT INTO refresh_tokens (hash, family_id, issued_at, used_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (hash) DO NOTHING`,
  )
  const markUsed = prepare<[number, string, string]>(
    db,
    'UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE hash = ? AND used_at IS NULL',
  )
  const revokeFamily = prepare<[number, string]>(
    db,
    'UPDATE refresh_families SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL',
  )
  const revokeByKey = prepare<[number, string]>(
    db,
    'UPDATE refresh_families SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL',
  )

  // Expired families prove nothing any more (an expired token is refused anyway): drop them now and
  // then, so that issuing tokens does not grow the file for ever.
  const pruneTokens = prepare<[number]>(
    db,
    `DELETE FROM refresh_tokens WHERE family_id IN
       (SELECT family_id FROM refresh_families WHERE expires_at <= ?)`,
  )
  const pruneFamilies = prepare<[number]>(db, 'DELETE FROM refresh_families WHERE expires_at <= ?')
  const prune = db.transaction((now: number) => {
    pruneTokens.run(now)
    pruneFamilies.run(now)
  })
  const pruneNowAndThen = periodically(PRUNE_EVERY, (now: number) => {
    try {
      prune.immediate(now)
    } catch {
      // Housekeeping only, run after the create committed: a failure (e.g. SQLITE_BUSY past the
      // busy timeout) must not fail that create. The store has no error callback to report it
      // to; the next sweep deletes what this one left.
    }
  })

  const find = (hash: string): RefreshTokenRecord | undefined => {
    const row = select.get(hash)
    return row && toRecord(row)
  }

  const create = db.transaction((record: RefreshTokenRecord): void => {
    const family = insertFamily.run({
      family_id: record.familyId,
      key_id: record.keyId,
      scopes: toJson(record.scopes),
      environment: record.environment,
      expires_at: record.expiresAt,
      revoked_at: record.familyRevokedAt,
    })
    if (family.changes === 0) throw new Error(`refresh token family ${record.familyId} exists`)
    const token = insertToken.run(record.hash, record.familyId, record.issuedAt, record.usedAt)
    if (token.changes === 0) throw new Error('refresh token hash exists')
  })

  const rotate = db.transaction((hash: string, nextHash: string, now: number): RefreshRotation => {
    const token = select.get(hash)
    if (!token || token.revoked_at !== null || now >= token.expires_at)
      return { outcome: 'invalid' }
    if (token.used_at !== null) {
      // The rotation that used this token, repeated (same next hash): report it again, as stored,
      // changing nothing. Only the caller that drew the next token knows its hash.
      const next = token.replaced_by === nextHash ? find(nextHash) : undefined
      if (next) return { outcome: 'rotated', previous: toRecord(token), next }
      revokeFamily.run(now, token.family_id)
      return { outcome: 'reused', previous: toRecord({ ...token, revoked_at: now }) }
    }
    markUsed.run(now, nextHash, hash)
    const inserted = insertToken.run(nextHash, token.family_id, now, null)
    if (inserted.changes === 0) throw new Error('refresh token hash exists')
    const next = find(nextHash)
    if (!next) throw new Error('refresh token rotation lost its next token')
    return { outcome: 'rotated', previous: toRecord({ ...token, used_at: now }), next }
  })

  return {
    async create(record) {
      create.immediate(record)
      pruneNowAndThen(record.issuedAt)
    },
    async find(hash) {
      return find(hash)
    },
    async rotate(hash, nextHash, now) {
      return rotate.immediate(hash, nextHash, now)
    },
    async revokeFamily(familyId, at) {
      revokeFamily.run(at, familyId)
    },
    async revokeByKey(keyId, at) {
      revokeByKey.run(at, keyId)
    },
  }
}
