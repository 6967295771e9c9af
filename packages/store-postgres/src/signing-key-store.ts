import type { SigningKeyRecord, SigningKeyStore } from '@apimw/core'
import { toNullableNumber, toNumber } from './sql.js'
import type { StoreContext } from './store-context.js'

interface SigningKeyRow {
  kid: string
  alg: string
  public_jwk: SigningKeyRecord['publicJwk']
  private_jwk: SigningKeyRecord['privateJwk']
  created_at: string
  rotated_at: string | null
  not_after: string | null
}

const columns = 'kid, alg, public_jwk, private_jwk, created_at, rotated_at, not_after'

const toRecord = (row: SigningKeyRow): SigningKeyRecord => ({
  kid: row.kid,
  alg: row.alg,
  publicJwk: row.public_jwk,
  privateJwk: row.private_jwk,
  createdAt: toNumber(row.created_at),
  rotatedAt: toNullableNumber(row.rotated_at),
  notAfter: toNullableNumber(row.not_after),
})

const values = (k: SigningKeyRecord): unknown[] => [
  k.kid,
  k.alg,
  JSON.stringify(k.publicJwk),
  JSON.stringify(k.privateJwk),
  k.createdAt,
  k.rotatedAt,
  k.notAfter,
]

/**
 * Signing keys in `signing_keys`; a partial unique index allows one active key (`rotated_at IS
 * NULL`) per alg. `activate` is an `INSERT ... ON CONFLICT DO NOTHING` on that index; `rotate` runs
 * in a transaction that first locks the table against other writers (reads go on).
 */
export function createSigningKeyStore(db: StoreContext): SigningKeyStore {
  const { t } = db
  const insert = `INSERT INTO ${t.signingKeys} (${columns})
    VALUES ($1, $2, $3::json, $4::json, $5, $6, $7)`

  return {
    async list() {
      const { rows } = await db.query<SigningKeyRow>(
        `SELECT ${columns} FROM ${t.signingKeys} ORDER BY created_at DESC, seq DESC`,
      )
      return rows.map(toRecord)
    },

    async activate(candidate) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const inserted = await db.write<SigningKeyRow>(
          `${insert} ON CONFLICT (alg) WHERE rotated_at IS NULL DO NOTHING RETURNING ${columns}`,
          values(candidate),
        )
        if (inserted.rows[0]) return toRecord(inserted.rows[0])
        const active = await db.query<SigningKeyRow>(
          `SELECT ${columns} FROM ${t.signingKeys} WHERE alg = $1 AND rotated_at IS NULL`,
          [candidate.alg],
        )
        if (active.rows[0]) return toRecord(active.rows[0])
        // The active key was rotated out between the two statements: try again.
      }
      throw new Error(`signingKeys.activate: no active ${candidate.alg} key after 5 attempts`)
    },

    async rotate(next, now, notAfter) {
      await db.transaction(async (client) => {
        await client.query(`LOCK TABLE ${t.signingKeys} IN SHARE ROW EXCLUSIVE MODE`)
        await client.query(
          `DELETE FROM ${t.signingKeys} WHERE not_after IS NOT NULL AND not_after <= $1`,
          [now],
        )
        await client.query(
          `UPDATE ${t.signingKeys} SET rotated_at = $2, not_after = $3
           WHERE alg = $1 AND rotated_at IS NULL`,
          [next.alg, now, notAfter],
        )
        await client.query(insert, values(next))
      })
    },
  }
}
