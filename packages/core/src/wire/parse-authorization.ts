import { InvalidRequestError, UnauthorizedError } from '../errors.js'

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/
/** Longer bearer tokens are refused before any parsing or signature work. */
const MAX_TOKEN_LENGTH = 8 * 1024

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1). */
export function parseBearer(header: string | undefined): string {
  if (header === undefined)
    throw new UnauthorizedError('an access token is required', { reason: 'token_missing' })
  const match = /^Bearer +(\S*)\s*$/i.exec(header)
  const token = match?.[1]
  if (!token || !TOKEN68.test(token) || token.length > MAX_TOKEN_LENGTH) {
    throw new InvalidRequestError('the Authorization header must be "Bearer <token>"', {
      reason: 'token_malformed',
    })
  }
  return token
}

export interface BasicCredentials {
  user: string
  password: string
}

/**
 * The user and password of an `Authorization: Basic` header, form-url-decoded (RFC 6749 §2.3.1),
 * or `undefined` when the header is absent. Another scheme, or a malformed value, throws.
 */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined
  const match = /^Basic +([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header)
  if (!match?.[1]) throw malformedBasic()
  let decoded: string
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(
      Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)),
    )
  } catch {
    throw malformedBasic()
  }
  const colon = decoded.indexOf(':')
  if (colon < 0) throw malformedBasic()
  return {
    user: formDecode(decoded.slice(0, colon)),
    password: formDecode(decoded.slice(colon + 1)),
  }
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    throw malformedBasic()
  }
}

const malformedBasic = () =>
  new InvalidRequestError('the Authorization header must be Basic base64(key:secret)', {
    reason: 'malformed_request',
  })
