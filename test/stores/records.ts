/**
 * Records for store tests: valid, fully filled in, at a fixed instant. The shared store suite and
 * the store packages' own tests build theirs from these, with overrides.
 */
import type { ApiKeyRecord, AuditEvent, RefreshTokenRecord, SigningKeyRecord } from '@apimw/core'

/** A fixed instant (2023-11-14T22:13:20Z), in seconds. */
export const NOW = 1_700_000_000

export function apiKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    key: 'apimw_test_AAAAAAAAAAAAAAAAAAAAAAAA',
    name: 'orders service',
    environment: 'test',
    scopes: ['orders:read', 'orders:write'],
    allowedIps: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'],
    secrets: [{ hash: 'sha256:current', expiresAt: null }],
    createdAt: NOW,
    expiresAt: NOW + 86_400,
    revokedAt: null,
    lastUsedAt: null,
    metadata: { team: 'billing', tags: ['a', 'b'], nested: { level: 2, ok: true, none: null } },
    ...overrides,
  }
}

export function signingKey(
  kid: string,
  overrides: Partial<SigningKeyRecord> = {},
): SigningKeyRecord {
  return {
    kid,
    alg: 'ES256',
    // key_ops: an empty array, which a JSON round trip through Lua (cjson) would turn into {}.
    publicJwk: {
      kty: 'EC',
      crv: 'P-256',
      x: `x-${kid}`,
      y: `y-${kid}`,
      kid,
      alg: 'ES256',
      key_ops: [],
    },
    privateJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, d: `d-${kid}`, kid },
    createdAt: NOW,
    rotatedAt: null,
    notAfter: null,
    ...overrides,
  }
}

export function refreshToken(overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    hash: 'sha256:refresh-1',
    familyId: 'family-1',
    keyId: 'apimw_test_AAAAAAAAAAAAAAAAAAAAAAAA',
    scopes: ['orders:read', 'orders:write'],
    environment: 'test',
    issuedAt: NOW,
    expiresAt: NOW + 2_592_000,
    usedAt: null,
    familyRevokedAt: null,
    ...overrides,
  }
}

export function auditEvent(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    type: 'token.issued',
    at: new Date((NOW + n) * 1000).toISOString(),
    requestId: `req-${n}`,
    ...overrides,
  }
}
