/**
 * The part of an ioredis client (`Redis` or `Cluster`, 5.x or 6.x) that the store uses: every
 * command goes through `call()`, and every multi-key step is one Lua script.
 */
export interface RedisClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>
  /** Read only to refuse a client-level `keyPrefix`, which would not reach keys named in scripts. */
  readonly options?: { readonly keyPrefix?: unknown }
}

export interface RedisStoreOptions {
  /**
   * An ioredis client the caller owns: the store never connects, quits or disconnects it. It must
   * not have its own `keyPrefix` option (use this store's `keyPrefix`).
   */
  client: RedisClient
  /**
   * Put before every key the store writes. Two stores with different prefixes share nothing.
   * On Redis Cluster, include a hash tag (`{apimw}:`) so that every key lands in one slot.
   * Default `'apimw:'`.
   */
  keyPrefix?: string
  /** Most events kept in the audit log (the oldest go first). Default 10 000. */
  maxAuditEvents?: number
  /** Most events kept per API key for `audit.tail({ keyId })`. Default 1 000. */
  maxAuditEventsPerKey?: number
  /**
   * Seconds a per-key audit list lives after its last event, so that ids seen only in failed
   * attempts do not pile up. Default 2 592 000 (30 days).
   */
  auditKeyTtlSeconds?: number
}

/** Options after validation, with defaults applied. */
export interface ResolvedRedisStoreOptions {
  client: RedisClient
  keyPrefix: string
  maxAuditEvents: number
  maxAuditEventsPerKey: number
  auditKeyTtlSeconds: number
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`createRedisStore: "${name}" must be a positive integer`)
  }
  return value
}

/** Checks the options once, at construction; a bad one throws a `TypeError` naming it. */
export function resolveOptions(options: RedisStoreOptions): ResolvedRedisStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createRedisStore: options must be an object')
  }
  const { client, keyPrefix = 'apimw:' } = options
  if (typeof client !== 'object' || client === null || typeof client.call !== 'function') {
    throw new TypeError('createRedisStore: "client" must be an ioredis client')
  }
  if (client.options?.keyPrefix) {
    throw new TypeError(
      'createRedisStore: the ioredis "client" must not set keyPrefix; pass "keyPrefix" to the store',
    )
  }
  if (typeof keyPrefix !== 'string' || keyPrefix.length === 0) {
    throw new TypeError('createRedisStore: "keyPrefix" must be a non-empty string')
  }
  return {
    client,
    keyPrefix,
    maxAuditEvents: positiveInteger('maxAuditEvents', options.maxAuditEvents, 10_000),
    maxAuditEventsPerKey: positiveInteger(
      'maxAuditEventsPerKey',
      options.maxAuditEventsPerKey,
      1_000,
    ),
    auditKeyTtlSeconds: positiveInteger(
      'auditKeyTtlSeconds',
      options.auditKeyTtlSeconds,
      2_592_000,
    ),
  }
}
