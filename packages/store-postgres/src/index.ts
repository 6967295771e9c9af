export { changeChannel } from './change-feed.js'
export type { PostgresStore } from './create-postgres-store.js'
export { createPostgresStore } from './create-postgres-store.js'
export { migrate } from './migrate.js'
export type { PostgresStoreOptions } from './options.js'
export type {
  PgNotification,
  PgPool,
  PgPoolClient,
  PgQueryable,
  PgQueryResult,
} from './pg-types.js'
export { PostgresTimeoutError } from './timeout.js'
