import type {
  Environment,
  RefreshRotation,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '@apimw/core'
import { toNullableNumber, toNumber } from './sql.js'
import type { StoreContext } from './store-context.js'
import { hasNul } from './text.js'

interface TokenRow {
  hash: string
  family_id: string
  key_id: string
  scopes: string[]
  environment: string
  issued_at: string
  expires_at: string
  used_at: string | null
  family_revoked_at: string | null
}

const toRecord = (row: TokenRow): RefreshTokenRecord => ({
  hash: row.hash,
  familyId: row.family_id,
  keyId: row.key_id,
  scopes: row.scopes,
  environment: row.environment as Environment,
  issuedAt: toNumber(row.issued_at),
  expiresAt: toNumber(row.expires_at),
  usedAt: toNullableNumber(row.used_at),
  familyRevokedAt: toNullableNumber(row.family_revoked_at),
})

const tokenColumns = (alias: string) =>
  ['hash', 'family_id', 'key_id', 'scopes', 'environment', 'issued_at', 'expires_at', 'used_at']
    .map((column) => `${alias}.${column}`)
    .join(', ')

/**
 * Refresh tokens in `refresh_tokens`, families in `refresh_token_families` (tokens go with their
 * family when it is deleted). `rotate` is one transaction whose first statement is a conditional
 * `UPDATE ... WHERE used_at IS NULL ... RETURNING`: Postgres lets one transaction at a time change
 * the row, and the others re-check the condition after it commits, so at most one rotates.
 */
export function createRefreshTokenStore(db: StoreContext): RefreshTokenStore {
  const { t } = db
  const pruneFamilies = db.periodically((now) =>
    db.query(`DELETE FROM ${t.refreshTokenFamilies} WHERE expires_at <= $1`, [now]),
  )

  return {
    async create(record) {
      await db.transaction(async (client) => {
        await client.query(
          `INSERT INTO ${t.refreshTokenFamilies} (family_id, key_id, expires_at, revoked_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (family_id) DO UPDATE
             SET key_id = EXCLUDED.key_id, expires_at = EXCLUDED.expires_at,
                 revoked_at = EXCLUDED.revoked_at`,
          [record.familyId, record.keyId, record.expiresAt, record.familyRevokedAt],
        )
        await client.query(
          `INSERT INTO ${t.refreshTokens}
             (hash, family_id, key_id, scopes, environment, issued_at, expires_at, used_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            record.hash,
            record.familyId,
            record.keyId,
            record.scopes,
            record.environment,
            record.issuedAt,
            record.expiresAt,
            record.usedAt,
          ],
        )
      })
      pruneFamilies(record.issuedAt)
    },

    async find(hash) {
      if (hasNul(hash)) return undefined
      const { rows } = await db.query<TokenRow>(
        `SELECT ${tokenColumns('t')}, f.revoked_at AS family_revoked_at
         FROM ${t.refreshTokens} AS t JOIN ${t.refreshTokenFamilies} AS f USING (family_id)
         WHERE t.hash = $1`,
        [hash],
      )
      return rows[0] && toRecord(rows[0])
    },

    async rotate(hash, nextHash, now) {
      if (hasNul(hash)) return { outcome: 'invalid' }
      return db.transaction(async (client): Promise<RefreshRotation> => {
        // 1. Mark the token used, if it is unused, unexpired and its family live. A concurrent
        //    rotation of the same token waits here for this transaction, then finds used_at set.
        const used = await client.query<TokenRow>(
          `UPDATE ${t.refreshTokens} AS t SET used_at = $2
           FROM ${t.refreshTokenFamilies} AS f
           WHERE t.hash = $1 AND t.used_at IS NULL AND t.expires_at > $2
             AND f.family_id = t.family_id AND f.revoked_at IS NULL
           RETURNING ${tokenColumns('t')}, f.revoked_at AS family_revoked_at`,
          [hash, now],
        )
        const previous = used.rows[0] && toRecord(used.rows[0])
        if (previous) {
          const next: RefreshTokenRecord = {
            ...previous,
            hash: nextHash,
            issuedAt: now,
            usedAt: null,
          }
          await client.query(
            `INSERT INTO ${t.refreshTokens}
               (hash, family_id, key_id, scopes, environment, issued_at, expires_at, used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
            [
              nextHash,
              next.familyId,
              next.keyId,
              next.scopes,
              next.environment,
              now,
              next.expiresAt,
            ],
          )
          return { outcome: 'rotated', previous, next: { ...next, scopes: [...next.scopes] } }
        }
        // 2. Otherwise, a used token of a live, unexpired family is a reuse: revoke the family.
        //    Of concurrent reuses, the first revokes; the others then see it revoked (invalid).
        const reused = await client.query<TokenRow>(
          `UPDATE ${t.refreshTokenFamilies} AS f SET revoked_at = $2
           FROM ${t.refreshTokens} AS t
           WHERE t.hash = $1 AND t.used_at IS NOT NULL AND t.expires_at > $2
             AND f.family_id = t.family_id AND f.revoked_at IS NULL
           RETURNING ${tokenColumns('t')}, f.revoked_at AS family_revoked_at`,
          [hash, now],
        )
        return reused.rows[0]
          ? { outcome: 'reused', previous: toRecord(reused.rows[0]) }
          : { outcome: 'invalid' }
      })
    },

    async revokeFamily(familyId, at) {
      if (hasNul(familyId)) return
      await db.query(
        `UPDATE ${t.refreshTokenFamilies} SET revoked_at = $2
         WHERE family_id = $1 AND revoked_at IS NULL`,
        [familyId, at],
      )
    },

    async revokeByKey(keyId, at) {
      if (hasNul(keyId)) return
      await db.query(
        `UPDATE ${t.refreshTokenFamilies} SET revoked_at = $2
         WHERE key_id = $1 AND revoked_at IS NULL`,
        [keyId, at],
      )
    },
  }
}
