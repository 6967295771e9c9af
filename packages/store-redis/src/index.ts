export { createRedisStore } from './create-redis-store.js'
export type { RedisClient, RedisStoreOptions } from './options.js'
