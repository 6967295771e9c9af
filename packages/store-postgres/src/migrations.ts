import type { Tables } from './sql.js'

/** One schema change. Versions only grow; a released migration is never edited. */
export interface Migration {
  version: number
  name: string
  sql(t: Tables): string
}

/**
 * JSON that is only stored and read back (metadata, JWKs, audit events) is `json`, kept as written
 * (and able to hold `\u0000`); `secrets` is `jsonb` because `rotateSecret` edits it in SQL.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'create tables',
    sql: (t) => `
      CREATE TABLE ${t.apiKeys} (
        seq bigserial NOT NULL,
        key text PRIMARY KEY,
        name text NOT NULL,
        environment text NOT NULL,
        scopes text[] NOT NULL,
        allowed_ips text[] NOT NULL,
        secrets jsonb NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint,
        revoked_at bigint,
        last_used_at bigint,
        metadata json NOT NULL
      );

      CREATE TABLE ${t.signingKeys} (
        seq bigserial NOT NULL,
        kid text PRIMARY KEY,
        alg text NOT NULL,
        public_jwk json NOT NULL,
        private_jwk json NOT NULL,
        created_at bigint NOT NULL,
        rotated_at bigint,
        not_after bigint
      );
      CREATE UNIQUE INDEX signing_keys_one_active_per_alg
        ON ${t.signingKeys} (alg) WHERE rotated_at IS NULL;

      CREATE TABLE ${t.refreshTokenFamilies} (
        family_id text PRIMARY KEY,
        key_id text NOT NULL,
        expires_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE INDEX refresh_token_families_key_id ON ${t.refreshTokenFamilies} (key_id);
      CREATE INDEX refresh_token_families_expires_at ON ${t.refreshTokenFamilies} (expires_at);

      CREATE TABLE ${t.refreshTokens} (
        hash text PRIMARY KEY,
        family_id text NOT NULL
          REFERENCES ${t.refreshTokenFamilies} (family_id) ON DELETE CASCADE,
        key_id text NOT NULL,
        scopes text[] NOT NULL,
        environment text NOT NULL,
        issued_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        used_at bigint
      );
      CREATE INDEX refresh_tokens_family_id ON ${t.refreshTokens} (family_id);

      CREATE TABLE ${t.revokedTokens} (
        jti text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX revoked_tokens_expires_at ON ${t.revokedTokens} (expires_at);

      CREATE TABLE ${t.counters} (
        name text PRIMARY KEY,
        count bigint NOT NULL,
        reset_at bigint NOT NULL
      );
      CREATE INDEX counters_reset_at ON ${t.counters} (reset_at);

      CREATE TABLE ${t.auditEvents} (
        id bigserial PRIMARY KEY,
        type text NOT NULL,
        at text NOT NULL,
        key_id text,
        event json NOT NULL
      );
      CREATE INDEX audit_events_key_id_id ON ${t.auditEvents} (key_id, id);
    `,
  },
  {
    version: 2,
    name: 'refresh token replaced_by',
    // The hash of the token a rotation issued for this one: a replayed rotation is recognised.
    // Nullable with no default: a catalogue-only change, whatever the size of the table.
    sql: (t) => `ALTER TABLE ${t.refreshTokens} ADD COLUMN replaced_by text;`,
  },
]
