/**
 * The part of an ioredis client (`Redis` or `Cluster`, 5.x or 6.x) that the store uses: every
 * command goes through `call()`, and every multi-key step is one Lua script. The other members are
 * optional, so a minimal object with `call()` also works (without the connection checks and the
 * change feed).
 */
export interface RedisClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>
  /** Read only to refuse a client-level `keyPrefix`, which would not reach keys named in scripts. */
  readonly options?: { readonly keyPrefix?: unknown }
  /** ioredis connection state (`wait`, `connecting`, `connect`, `ready`, `close`, `reconnecting`, `end`). */
  readonly status?: string
  /** A new connection with the same options: the change feed subscribes on one (pub/sub needs its own). */
  duplicate?(): RedisSubscriber
  once?(event: 'ready' | 'close' | 'end', listener: () => void): unknown
  removeListener?(event: 'ready' | 'close' | 'end', listener: () => void): unknown
}

/** The connection the change feed subscribes on: opened by the store with `duplicate()`, and closed by it. */
export interface RedisSubscriber {
  readonly status?: string
  connect?(): Promise<unknown>
  subscribe(channel: string): Promise<unknown>
  on(event: string, listener: (...args: unknown[]) => void): unknown
  disconnect(): void
}

/**
 * Options of {@link createRedisStore}. Only `client` is required. Every number is checked when the
 * store is created: a bad one throws a `TypeError` naming it.
 *
 * @example
 * const store = createRedisStore({
 *   client: new Redis(process.env.REDIS_URL),
 *   keyPrefix: '{apimw}:', // a hash tag keeps every key in one Redis Cluster slot
 *   commandTimeoutMs: 1000,
 *   onError: (error) => console.warn('apimw change feed:', error),
 * })
 */
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
   * Most per-key audit lists kept. Key ids in audit events come from requests, so unauthenticated
   * traffic could otherwise create one list per id it makes up; past this number the lists written
   * least recently are deleted. Memory is bounded by `maxAuditKeys` × `maxAuditEventsPerKey`
   * events. Default 100 000.
   */
  maxAuditKeys?: number
  /**
   * Seconds a per-key audit list lives after its last event, so that ids seen only in failed
   * attempts do not pile up. Default 2 592 000 (30 days).
   */
  auditKeyTtlSeconds?: number
  /**
   * Milliseconds a command may take before the store gives up on it (the request then answers
   * 503). While the client is reconnecting after a lost connection, commands fail at once instead
   * of waiting in ioredis's offline queue. A command given up on may still run later (or, with
   * ioredis's `autoResendUnfulfilledCommands`, twice): every write is one script that is safe to
   * run again (a repeated counter increment or audit event counts once more). Default 2000.
   */
  commandTimeoutMs?: number
  /**
   * Push changes (revocations, key and signing-key changes) to every instance on the same prefix
   * through Redis pub/sub, on a second connection opened with `client.duplicate()` when the first
   * instance subscribes. `false`: no second connection; instances then see changes within their
   * `cacheTtl`. Default `true`.
   */
  changes?: boolean
  /**
   * Called with errors of the change feed's own connection (lost, refused, a malformed message).
   * They never reach a request: while the feed is down, instances fall back to the `cacheTtl`
   * bound. Default: ignored.
   */
  onError?: (error: unknown) => void
}

/** Options after validation, with defaults applied. */
export interface ResolvedRedisStoreOptions {
  client: RedisClient
  keyPrefix: string
  maxAuditEvents: number
  maxAuditEventsPerKey: number
  maxAuditKeys: number
  auditKeyTtlSeconds: number
  commandTimeoutMs: number
  changes: boolean
  onError: (error: unknown) => void
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
  const { client, keyPrefix = 'apimw:', changes = true, onError = ignore } = options
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
  if (typeof changes !== 'boolean') {
    throw new TypeError('createRedisStore: "changes" must be a boolean')
  }
  if (typeof onError !== 'function') {
    throw new TypeError('createRedisStore: "onError" must be a function')
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
    maxAuditKeys: positiveInteger('maxAuditKeys', options.maxAuditKeys, 100_000),
    auditKeyTtlSeconds: positiveInteger(
      'auditKeyTtlSeconds',
      options.auditKeyTtlSeconds,
      2_592_000,
    ),
    commandTimeoutMs: positiveInteger('commandTimeoutMs', options.commandTimeoutMs, 2_000),
    changes,
    onError,
  }
}

const ignore = (): void => {}
