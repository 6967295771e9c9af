export type { SqliteStoreOptions } from './options.js'
export { createSqliteStore } from './sqlite-store.js'
