/** Quotes a (validated) name as an SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Every table, schema-qualified and quoted. */
export interface Tables {
  migrations: string
  apiKeys: string
  signingKeys: string
  refreshTokenFamilies: string
  refreshTokens: string
  revokedTokens: string
  counters: string
  auditEvents: string
}

export function tables(schema: string): Tables {
  const s = quoteIdentifier(schema)
  return {
    migrations: `${s}.schema_migrations`,
    apiKeys: `${s}.api_keys`,
    signingKeys: `${s}.signing_keys`,
    refreshTokenFamilies: `${s}.refresh_token_families`,
    refreshTokens: `${s}.refresh_tokens`,
    revokedTokens: `${s}.revoked_tokens`,
    counters: `${s}.counters`,
    auditEvents: `${s}.audit_events`,
  }
}

/**
 * Reads a `bigint` column: `pg` returns int8 as a string unless the application set its own type
 * parser, so accept numbers and bigints too. Every such column holds seconds or a small count.
 */
export function toNumber(value: string | number | bigint): number {
  return Number(value)
}

export function toNullableNumber(value: string | number | bigint | null): number | null {
  return value === null ? null : Number(value)
}
