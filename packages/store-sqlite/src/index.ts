export type { SqliteStoreLimits, SqliteStoreOptions } from './options.js'
export type { SqliteStore } from './sqlite-store.js'
export { createSqliteStore } from './sqlite-store.js'
