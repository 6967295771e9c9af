import { generateKeyId, generateSecret, isEnvironment } from '../credentials/api-key-format.js'
import { parseAllowedIp } from '../policy/ip-allowlist.js'
import type { Services } from '../services.js'
import type { ApiKeyRecord, ApiKeyStore, Environment } from '../stores/types.js'

/** A key-management call that cannot be done; `code` says why. Nothing was changed. */
export class KeyManagementError extends Error {
  readonly code: 'not_found' | 'invalid_input' | 'read_only'
  constructor(code: KeyManagementError['code'], message: string) {
    super(message)
    this.name = 'KeyManagementError'
    this.code = code
  }
}

export interface CreateKeyInput {
  name: string
  /** Default: the server's environment. */
  environment?: Environment
  /** Default: none. */
  scopes?: readonly string[]
  /** Addresses and CIDRs; default: any address. */
  allowedIps?: readonly string[]
  /** Lifetime in seconds; default: no expiry. */
  expiresIn?: number
  metadata?: Record<string, unknown>
}

/** A new key with its secret: the only time the secret exists outside the client. */
export interface CreatedKey {
  record: ApiKeyRecord
  secret: string
}

export interface RotatedKey {
  record: ApiKeyRecord
  secret: string
  /** When the previous secret stops working. */
  previousSecretExpiresAt: number
}

export interface KeyManager {
  create(input: CreateKeyInput): Promise<CreatedKey>
  /** A new secret; the previous one keeps working for `graceSeconds` (default 86400, 0 ends it now). */
  rotate(key: string, options?: { graceSeconds?: number }): Promise<RotatedKey>
  /** Revokes the key, its refresh-token families and (through this instance at once) its access tokens. */
  revoke(key: string): Promise<ApiKeyRecord>
  get(key: string): Promise<ApiKeyRecord | undefined>
  list(): Promise<ApiKeyRecord[]>
}

const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/

export function createKeyManager(s: Services): KeyManager {
  const writable = (): ApiKeyStore => {
    const keys = s.options.keys
    if (keys !== s.options.store.keys) {
      throw new KeyManagementError(
        'read_only',
        'keys come from a read-only key table; manage them there',
      )
    }
    return s.options.store.keys
  }

  return {
    async create(input) {
      const store = writable()
      const record = await newRecord(s, input)
      const secret = generateSecret()
      record.secrets = [{ hash: await s.hasher.hash(secret), expiresAt: null }]
      await store.create(record)
      await s.audit.emit({
        type: 'key.created',
        keyId: record.key,
        details: { environment: record.environment },
      })
      return { record, secret }
    },
    async rotate(key, { graceSeconds = 86_400 } = {}) {
      if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0) {
        throw new KeyManagementError(
          'invalid_input',
          'the grace period must be a whole number of seconds >= 0',
        )
      }
      const secret = generateSecret()
      const previousSecretExpiresAt = s.now() + graceSeconds
      const record = await writable().rotateSecret(
        key,
        { hash: await s.hasher.hash(secret), expiresAt: null },
        previousSecretExpiresAt,
      )
      if (!record) throw new KeyManagementError('not_found', `no active key ${printable(key)}`)
      s.keyCache.set(key, record)
      await s.publish({ kind: 'key', keyId: key })
      await s.audit.emit({ type: 'key.rotated', keyId: key, details: { previousSecretExpiresAt } })
      return { record, secret, previousSecretExpiresAt }
    },
    async revoke(key) {
      const now = s.now()
      const record = await writable().revoke(key, now)
      if (!record) throw new KeyManagementError('not_found', `no key ${printable(key)}`)
      await s.options.store.refreshTokens.revokeByKey(key, now)
      s.keyCache.set(key, record)
      await s.publish({ kind: 'key', keyId: key })
      await s.audit.emit({ type: 'key.revoked', keyId: key })
      return record
    },
    get: (key) => s.options.keys.get(key),
    list: () => writable().list(),
  }
}

async function newRecord(s: Services, input: CreateKeyInput): Promise<ApiKeyRecord> {
  const bad = (message: string) => new KeyManagementError('invalid_input', message)
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) {
    throw bad('the name must be 1 to 200 characters')
  }
  const environment = input.environment ?? s.options.environment
  if (!isEnvironment(environment)) throw bad('the environment must be "test" or "live"')
  const scopes = [...new Set(input.scopes ?? [])]
  const badScope = scopes.find((scope) => !SCOPE.test(scope))
  if (badScope !== undefined) throw bad(`"${printable(badScope)}" is not a valid scope`)
  const allowedIps = [...(input.allowedIps ?? [])]
  for (const entry of allowedIps) {
    try {
      parseAllowedIp(entry)
    } catch (error) {
      throw bad((error as Error).message)
    }
  }
  if (
    input.expiresIn !== undefined &&
    (!Number.isSafeInteger(input.expiresIn) || input.expiresIn <= 0)
  ) {
    throw bad('expires-in must be a positive whole number of seconds')
  }
  const now = s.now()
  return {
    key: generateKeyId(environment),
    name: input.name,
    environment,
    scopes,
    allowedIps,
    secrets: [],
    createdAt: now,
    expiresAt: input.expiresIn === undefined ? null : now + input.expiresIn,
    revokedAt: null,
    lastUsedAt: null,
    metadata: { ...(input.metadata ?? {}) },
  }
}

const printable = (text: string): string => text.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')
