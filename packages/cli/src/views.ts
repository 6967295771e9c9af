import type { ApiKeyRecord, AuditEvent, Environment, SigningKeyInfo } from '@apimw/core'
import { fields, isoTime, list, printable, shortTime } from './format.js'

/** An API key as the CLI shows it (`keys list`, `keys show`, `keys revoke`): never a secret or a hash. */
export type KeyView = {
  key: string
  name: string
  environment: Environment
  scopes: string[]
  allowedIps: string[]
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  lastUsedAt: string | null
  metadata: Record<string, unknown>
}

/** A signing key as the CLI shows it: never the private (or HMAC) key material. */
export type SigningKeyView = {
  kid: string
  alg: string
  createdAt: string
  rotatedAt: string | null
  notAfter: string | null
}

export function keyView(record: ApiKeyRecord): KeyView {
  return {
    key: record.key,
    name: record.name,
    environment: record.environment,
    scopes: [...record.scopes],
    allowedIps: [...record.allowedIps],
    createdAt: isoTime(record.createdAt) ?? '',
    expiresAt: isoTime(record.expiresAt),
    revokedAt: isoTime(record.revokedAt),
    lastUsedAt: isoTime(record.lastUsedAt),
    metadata: { ...record.metadata },
  }
}

export function signingKeyView(record: SigningKeyInfo): SigningKeyView {
  return {
    kid: record.kid,
    alg: record.alg,
    createdAt: isoTime(record.createdAt) ?? '',
    rotatedAt: isoTime(record.rotatedAt),
    notAfter: isoTime(record.notAfter),
  }
}

/** `active`, `expired` or `revoked`, for a human. */
export function keyStatus(record: ApiKeyRecord, now: number): string {
  if (record.revokedAt !== null) return 'revoked'
  if (record.expiresAt !== null && record.expiresAt <= now) return 'expired'
  return 'active'
}

/** `active` (signs new tokens), `verifying` (rotated, still verifies) or `retired`. */
export function signingKeyStatus(record: SigningKeyInfo, now: number): string {
  if (record.rotatedAt === null) return 'active'
  return record.notAfter === null || record.notAfter > now ? 'verifying' : 'retired'
}

export function keyLines(record: ApiKeyRecord, now: number): string[] {
  return fields([
    ['key', record.key],
    ['name', printable(record.name)],
    ['environment', record.environment],
    ['status', keyStatus(record, now)],
    ['scopes', list(record.scopes)],
    ['allowed IPs', record.allowedIps.length === 0 ? 'any' : list(record.allowedIps)],
    ['created', shortTime(record.createdAt)],
    ['expires', record.expiresAt === null ? 'never' : shortTime(record.expiresAt)],
    ['revoked', shortTime(record.revokedAt)],
    ['last used', shortTime(record.lastUsedAt)],
    ['metadata', printable(JSON.stringify(record.metadata))],
  ])
}

/** One audit event on one line, for a human. */
export function auditLine(event: AuditEvent): string {
  const parts = [event.at, event.type]
  if (event.keyId !== undefined) parts.push(`key=${event.keyId}`)
  if (event.ip !== undefined) parts.push(`ip=${event.ip}`)
  if (event.reason !== undefined) parts.push(`reason=${event.reason}`)
  if (event.requestId !== undefined) parts.push(`request=${event.requestId}`)
  if (event.details !== undefined) parts.push(JSON.stringify(event.details))
  return printable(parts.join(' '))
}
