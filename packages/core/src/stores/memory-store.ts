import { LRUCache } from 'lru-cache'
import type {
  ApiKeyRecord,
  ApiKeyStore,
  ApimwStore,
  AuditEvent,
  AuditStore,
  ChangeFeed,
  CounterStore,
  CounterValue,
  RefreshTokenRecord,
  RefreshTokenStore,
  RevocationStore,
  SigningKeyRecord,
  SigningKeyStore,
  StoreChange,
} from './types.js'

export interface MemoryStoreOptions {
  /** Most counters (rate-limit windows) kept; the least recently used go first. Default 100 000. */
  maxCounters?: number
  /** Most live revoked `jti`s kept; past it, revocations fail (503) rather than evict one. Default 100 000. */
  maxRevocations?: number
  /** Most audit events kept. Default 10 000. */
  maxAuditEvents?: number
}

/**
 * A store for one process, for tests and single-instance servers. Each call returns a new,
 * independent store. Bounded where an attacker could make it grow (counters, revocations, audit).
 *
 * @example
 * const apimw = createApimw({ store: createMemoryStore() })
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): ApimwStore {
  return {
    keys: memoryKeys(),
    signingKeys: memorySigningKeys(),
    refreshTokens: memoryRefreshTokens(),
    revocations: memoryRevocations(options.maxRevocations ?? 100_000),
    counters: memoryCounters(options.maxCounters ?? 100_000),
    audit: memoryAudit(options.maxAuditEvents ?? 10_000),
    changes: memoryChanges(),
  }
}

/** Instances sharing one memory store object hear each other's changes. */
function memoryChanges(): ChangeFeed {
  const listeners = new Set<(change: StoreChange) => void>()
  return {
    async publish(change) {
      for (const listener of listeners) listener(copy(change))
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

const copy = <T>(value: T): T => structuredClone(value)

function memoryKeys(): ApiKeyStore {
  const records = new Map<string, ApiKeyRecord>()
  return {
    async get(key) {
      const record = records.get(key)
      return record && copy(record)
    },
    async create(record) {
      if (records.has(record.key)) throw new Error(`key ${record.key} exists`)
      records.set(record.key, copy(record))
    },
    async list() {
      // Map order is insertion order, and Array#sort is stable: ties keep it.
      return [...records.values()].sort((a, b) => a.createdAt - b.createdAt).map(copy)
    },
    async rotateSecret(key, next, previousExpiresAt) {
      const record = records.get(key)
      if (!record || record.revokedAt !== null) return undefined
      const current = record.secrets[0]
      // The same rotation sent again must not push the new secret into the previous slot.
      if (current?.hash === next.hash) return copy(record)
      record.secrets = current
        ? [copy(next), { ...current, expiresAt: previousExpiresAt }]
        : [copy(next)]
      return copy(record)
    },
    async revoke(key, at) {
      const record = records.get(key)
      if (!record) return undefined
      record.revokedAt ??= at
      return copy(record)
    },
    async touch(key, at) {
      const record = records.get(key)
      if (record) record.lastUsedAt = Math.max(record.lastUsedAt ?? 0, at)
    },
  }
}

function memorySigningKeys(): SigningKeyStore {
  let keys: SigningKeyRecord[] = []
  return {
    async list() {
      return keys.map(copy)
    },
    async activate(candidate) {
      const active = keys.find((k) => k.alg === candidate.alg && k.rotatedAt === null)
      if (active) return copy(active)
      keys.unshift(copy(candidate))
      return copy(candidate)
    },
    async rotate(next, now, notAfter) {
      keys = keys.filter((k) => k.notAfter === null || k.notAfter > now)
      for (const k of keys) {
        if (k.alg === next.alg && k.rotatedAt === null)
          Object.assign(k, { rotatedAt: now, notAfter })
      }
      keys.unshift(copy(next))
    },
  }
}

function memoryRefreshTokens(): RefreshTokenStore {
  const tokens = new Map<string, Omit<RefreshTokenRecord, 'familyRevokedAt'>>()
  const families = new Map<
    string,
    { keyId: string; revokedAt: number | null; expiresAt: number; hashes: string[] }
  >()
  /** Which token replaced a used one, so that a replayed rotation answers the same. */
  const replacedBy = new Map<string, string>()
  // Expired families prove nothing any more: sweep them now and then so issuing never grows for ever.
  let createsSincePrune = 0
  const prune = (now: number) => {
    for (const [familyId, family] of families) {
      if (family.expiresAt > now) continue
      for (const hash of family.hashes) {
        tokens.delete(hash)
        replacedBy.delete(hash)
      }
      families.delete(familyId)
    }
  }
  const view = (hash: string): RefreshTokenRecord | undefined => {
    const token = tokens.get(hash)
    const family = token && families.get(token.familyId)
    return token && family ? copy({ ...token, familyRevokedAt: family.revokedAt }) : undefined
  }
  return {
    async create(record) {
      const { familyRevokedAt, ...token } = record
      if (tokens.has(record.hash) || families.has(record.familyId)) {
        throw new Error('refresh token or family exists')
      }
      if (++createsSincePrune >= 1000) {
        createsSincePrune = 0
        prune(record.issuedAt)
      }
      families.set(record.familyId, {
        keyId: record.keyId,
        revokedAt: familyRevokedAt,
        expiresAt: record.expiresAt,
        hashes: [record.hash],
      })
      tokens.set(record.hash, copy(token))
    },
    async find(hash) {
      return view(hash)
    },
    async rotate(hash, nextHash, now) {
      const token = tokens.get(hash)
      const family = token && families.get(token.familyId)
      if (!token || !family || family.revokedAt !== null || now >= token.expiresAt) {
        return { outcome: 'invalid' }
      }
      if (token.usedAt !== null) {
        // The same rotation sent again (a retry after a lost reply) is not reuse: same answer.
        if (replacedBy.get(hash) === nextHash) {
          return { outcome: 'rotated', previous: view(hash)!, next: view(nextHash)! }
        }
        family.revokedAt = now
        return { outcome: 'reused', previous: view(hash)! }
      }
      token.usedAt = now
      replacedBy.set(hash, nextHash)
      tokens.set(nextHash, { ...copy(token), hash: nextHash, issuedAt: now, usedAt: null })
      family.hashes.push(nextHash)
      return { outcome: 'rotated', previous: view(hash)!, next: view(nextHash)! }
    },
    async revokeFamily(familyId, at) {
      const family = families.get(familyId)
      if (family) family.revokedAt ??= at
    },
    async revokeByKey(keyId, at) {
      for (const family of families.values()) {
        if (family.keyId === keyId) family.revokedAt ??= at
      }
    },
  }
}

function memoryRevocations(max: number): RevocationStore {
  // A Map, not an LRU: evicting a live revocation would make a revoked token valid again.
  const revoked = new Map<string, number>()
  return {
    async revoke(jti, expiresAt, now = Number.NEGATIVE_INFINITY) {
      if (!revoked.has(jti) && revoked.size >= max) {
        for (const [entry, until] of revoked) if (until <= now) revoked.delete(entry)
        if (revoked.size >= max) throw new Error('the memory revocation store is full')
      }
      revoked.set(jti, Math.max(expiresAt, revoked.get(jti) ?? 0))
    },
    async isRevoked(jti, now) {
      const expiresAt = revoked.get(jti)
      return expiresAt !== undefined && expiresAt > now
    },
  }
}

function memoryCounters(max: number): CounterStore {
  const counters = new LRUCache<string, CounterValue>({ max })
  const live = (name: string, now: number) => {
    const value = counters.get(name)
    return value && value.resetAt > now ? value : undefined
  }
  return {
    async increment(name, windowSeconds, now) {
      const value = live(name, now) ?? { count: 0, resetAt: now + windowSeconds }
      const next = { count: value.count + 1, resetAt: value.resetAt }
      counters.set(name, next)
      return { ...next }
    },
    async get(name, now) {
      const value = live(name, now)
      return value && { ...value }
    },
    async delete(name) {
      counters.delete(name)
    },
  }
}

function memoryAudit(max: number): AuditStore {
  const events: AuditEvent[] = []
  return {
    write(event) {
      events.push(copy(event))
      if (events.length > max) events.splice(0, events.length - max)
    },
    async tail({ keyId, limit }) {
      const matching = keyId === undefined ? events : events.filter((e) => e.keyId === keyId)
      return limit > 0 ? matching.slice(-limit).map(copy) : []
    },
  }
}
