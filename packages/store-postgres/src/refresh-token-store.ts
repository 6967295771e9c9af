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

const tokenColumnList = [
  'hash',
  'family_id',
  'key_id',
  'scopes',
  'environment',
  'issued_at',
  'expires_at',
  'used_at',
] as const

const tokenColumns = (alias: string) =>
  tokenColumnList.map((column) => `${alias}.${column}`).join(', ')

/** A row that also holds the next token's columns, prefixed `next_`. */
type WithNext = TokenRow & { [K in keyof TokenRow as `next_${K}`]: TokenRow[K] }

/** The next token's columns of a {@link WithNext} row, as a row of its own. */
const nextRow = (row: WithNext): TokenRow => ({
  hash: row.next_hash,
  family_id: row.next_family_id,
  key_id: row.next_key_id,
  scopes: row.next_scopes,
  environment: row.next_environment,
  issued_at: row.next_issued_at,
  expires_at: row.next_expires_at,
  used_at: row.next_used_at,
  family_revoked_at: row.next_family_revoked_at,
})

/**
 * Refresh tokens in `refresh_tokens`, families in `refresh_token_families` (tokens go with their
 * family when it is deleted). `rotate` is one transaction whose first statement is a conditional
 * `UPDATE ... WHERE used_at IS NULL ... RETURNING`: Postgres lets one transaction at a time change
 * the row, and the others re-check the condition after it commits, so at most one rotates. A used
 * token keeps in `replaced_by` the hash of the token issued for it, so that a repeated rotation
 * (same token, same next hash) is told apart from a reuse.
 */
export function createRefreshTokenStore(db: StoreContext): RefreshTokenStore {
  const { t } = db
  const pruneFamilies = db.periodically((now) =>
    db.write(`DELETE FROM ${t.refreshTokenFamilies} WHERE expires_at <= $1`, [now]),
  )

  return {
    async create(record) {
      await db.transaction(async (client) => {
        // Never overwrite: a revoked family must stay revoked, a used token used.
        const family = await client.query(
          `INSERT INTO ${t.refreshTokenFamilies} (family_id, key_id, expires_at, revoked_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (family_id) DO NOTHING`,
          [record.familyId, record.keyId, record.expiresAt, record.familyRevokedAt],
        )
        if (family.rowCount !== 1) throw new Error(`refresh token family exists`)
        const token = await client.query(
          `INSERT INTO ${t.refreshTokens}
             (hash, family_id, key_id, scopes, environment, issued_at, expires_at, used_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (hash) DO NOTHING`,
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
        // Throwing rolls the family back too.
        if (token.rowCount !== 1) throw new Error('refresh token hash exists')
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
          `UPDATE ${t.refreshTokens} AS t SET used_at = $2, replaced_by = $3
           FROM ${t.refreshTokenFamilies} AS f
           WHERE t.hash = $1 AND t.used_at IS NULL AND t.expires_at > $2
             AND f.family_id = t.family_id AND f.revoked_at IS NULL
           RETURNING ${tokenColumns('t')}, f.revoked_at AS family_revoked_at`,
          [hash, now, nextHash],
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
        // 2. A used token that this very rotation replaced (same next hash) is a repeat of it, not
        //    a reuse: report it again, as stored, changing nothing. Only the caller that drew the
        //    next token knows its hash.
        const replayed = await client.query<WithNext>(
          `SELECT ${tokenColumns('t')}, f.revoked_at AS family_revoked_at,
                  ${tokenColumnList.map((c) => `n.${c} AS next_${c}`).join(', ')},
                  f.revoked_at AS next_family_revoked_at
           FROM ${t.refreshTokens} AS t
             JOIN ${t.refreshTokenFamilies} AS f ON f.family_id = t.family_id
             JOIN ${t.refreshTokens} AS n ON n.hash = t.replaced_by
           WHERE t.hash = $1 AND t.used_at IS NOT NULL AND t.replaced_by = $3
             AND t.expires_at > $2 AND f.revoked_at IS NULL`,
          [hash, now, nextHash],
        )
        const replay = replayed.rows[0]
        if (replay) {
          return {
            outcome: 'rotated',
            previous: toRecord(replay),
            next: toRecord(nextRow(replay)),
          }
        }
        // 3. Otherwise, a used token of a live, unexpired family is a reuse: revoke the family.
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
      await db.write(
        `UPDATE ${t.refreshTokenFamilies} SET revoked_at = $2
         WHERE family_id = $1 AND revoked_at IS NULL`,
        [familyId, at],
      )
    },

    async revokeByKey(keyId, at) {
      if (hasNul(keyId)) return
      await db.write(
        `UPDATE ${t.refreshTokenFamilies} SET revoked_at = $2
         WHERE key_id = $1 AND revoked_at IS NULL`,
        [keyId, at],
      )
    },
  }
}
