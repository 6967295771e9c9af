import type { RevocationStore } from '@apimw/core'
import type { Database } from 'better-sqlite3'
import { periodically, prepare } from './statement.js'

/** How many `isRevoked` calls pass between two sweeps of expired entries. */
const sweepEvery = 1000

/** Revoked access-token `jti`s in `revocations`; expired rows are deleted lazily. */
export function createRevocationStore(db: Database): RevocationStore {
  const upsert = prepare<[string, number]>(
    db,
    `INSERT INTO revocations (jti, expires_at) VALUES (?, ?)
     ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
  )
  const select = prepare<[string], { expires_at: number }>(
    db,
    'SELECT expires_at FROM revocations WHERE jti = ?',
  )
  const deleteOne = prepare<[string, number]>(
    db,
    'DELETE FROM revocations WHERE jti = ? AND expires_at <= ?',
  )
  const deleteExpired = prepare<[number]>(db, 'DELETE FROM revocations WHERE expires_at <= ?')
  const sweep = periodically(sweepEvery, (now: number) => deleteExpired.run(now))

  return {
    async revoke(jti, expiresAt) {
      upsert.run(jti, expiresAt)
    },
    async isRevoked(jti, now) {
      sweep(now)
      const row = select.get(jti)
      if (!row) return false
      if (row.expires_at > now) return true
      deleteOne.run(jti, now)
      return false
    },
  }
}
