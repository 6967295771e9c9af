import type { RevocationStore } from '@apimw/core'
import type { StoreContext } from './store-context.js'
import { nulFree } from './text.js'

/** Revoked access tokens in `revoked_tokens`; rows past their expiry are pruned periodically. */
export function createRevocationStore(db: StoreContext): RevocationStore {
  const { t } = db
  const prune = db.periodically((now) =>
    db.write(`DELETE FROM ${t.revokedTokens} WHERE expires_at <= $1`, [now]),
  )
  return {
    async revoke(jti, expiresAt) {
      await db.write(
        `INSERT INTO ${t.revokedTokens} (jti, expires_at) VALUES ($1, $2)
         ON CONFLICT (jti) DO UPDATE
           SET expires_at = GREATEST(${t.revokedTokens}.expires_at, EXCLUDED.expires_at)`,
        [nulFree(jti), expiresAt],
      )
    },

    async isRevoked(jti, now) {
      const { rows } = await db.query(
        `SELECT 1 FROM ${t.revokedTokens} WHERE jti = $1 AND expires_at > $2`,
        [nulFree(jti), now],
      )
      prune(now)
      return rows.length > 0
    },
  }
}
