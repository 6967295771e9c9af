import type { SigningKeyRecord, SigningKeyStore } from '@apimw/core'
import type { Database } from 'better-sqlite3'
import { fromJson, toJson } from './json.js'
import { prepare } from './statement.js'

type JWK = SigningKeyRecord['publicJwk']

interface SigningKeyRow {
  kid: string
  alg: string
  public_jwk: string
  private_jwk: string
  created_at: number
  rotated_at: number | null
  not_after: number | null
}

const columns = 'kid, alg, public_jwk, private_jwk, created_at, rotated_at, not_after'

function toRecord(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: fromJson<JWK>(row.public_jwk),
    privateJwk: fromJson<JWK>(row.private_jwk),
    createdAt: row.created_at,
    rotatedAt: row.rotated_at,
    notAfter: row.not_after,
  }
}

function toRow(record: SigningKeyRecord): SigningKeyRow {
  return {
    kid: record.kid,
    alg: record.alg,
    public_jwk: toJson(record.publicJwk),
    private_jwk: toJson(record.privateJwk),
    created_at: record.createdAt,
    rotated_at: record.rotatedAt,
    not_after: record.notAfter,
  }
}

/**
 * JWS signing keys in `signing_keys`. A partial unique index allows one active key (`rotated_at`
 * NULL) per `alg`, so even a writer that skips these methods cannot create a second one.
 */
export function createSigningKeyStore(db: Database): SigningKeyStore {
  const selectAll = prepare<[], SigningKeyRow>(
    db,
    `SELECT ${columns} FROM signing_keys ORDER BY created_at DESC, rowid DESC`,
  )
  const selectActive = prepare<[string], SigningKeyRow>(
    db,
    `SELECT ${columns} FROM signing_keys WHERE alg = ? AND rotated_at IS NULL`,
  )
  const insert = prepare<[SigningKeyRow]>(
    db,
    `INSERT INTO signing_keys (${columns})
     VALUES (@kid, @alg, @public_jwk, @private_jwk, @created_at, @rotated_at, @not_after)`,
  )
  const deleteExpired = prepare<[number]>(
    db,
    'DELETE FROM signing_keys WHERE not_after IS NOT NULL AND not_after <= ?',
  )
  const endActive = prepare<[number, number, string]>(
    db,
    'UPDATE signing_keys SET rotated_at = ?, not_after = ? WHERE alg = ? AND rotated_at IS NULL',
  )

  const activate = db.transaction((candidate: SigningKeyRecord): SigningKeyRecord => {
    const active = selectActive.get(candidate.alg)
    if (active) return toRecord(active)
    const row = toRow(candidate)
    insert.run(row)
    return toRecord(row)
  })
  const rotate = db.transaction((next: SigningKeyRecord, now: number, notAfter: number): void => {
    deleteExpired.run(now)
    endActive.run(now, notAfter, next.alg)
    insert.run(toRow(next))
  })

  return {
    async list() {
      return selectAll.all().map(toRecord)
    },
    async activate(candidate) {
      return activate.immediate(candidate)
    },
    async rotate(next, now, notAfter) {
      rotate.immediate(next, now, notAfter)
    },
  }
}
