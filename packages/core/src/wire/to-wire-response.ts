import type { AnyApimwError } from '../errors.js'
import { isApimwError } from '../errors.js'
import type { WireResponse } from './types.js'

/** Which challenge an error carries: the `/auth` routes (RFC 6749 §5.2) or a guarded route (RFC 6750 §3). */
export type Surface = { kind: 'token'; basic: boolean } | { kind: 'bearer' }

const REALM = 'apimw'

const jsonHeaders = (): Record<string, string> => ({
  'content-type': 'application/json',
  'cache-control': 'no-store',
  pragma: 'no-cache',
})

/** A JSON success response that must never be cached (RFC 6749 §5.1). */
export function jsonResponse(status: number, body: object): WireResponse {
  return { status, headers: jsonHeaders(), body: JSON.stringify(body) }
}

/** The one place that turns an error into status, headers and body. Reveals nothing of a non-APIMW error. */
export function toWireResponse(error: unknown, surface: Surface): WireResponse {
  if (!isApimwError(error)) {
    return jsonResponse(500, { error: 'server_error', error_description: 'internal error' })
  }
  const response = jsonResponse(error.status, {
    error: error.code,
    error_description: error.message,
  })
  const challenge =
    surface.kind === 'bearer' ? bearerChallenge(error) : basicChallenge(error, surface.basic)
  if (challenge) response.headers['www-authenticate'] = challenge
  if (error.code === 'too_many_requests' || error.code === 'temporarily_unavailable') {
    response.headers['retry-after'] = String(error.retryAfter)
  }
  return response
}

function basicChallenge(error: AnyApimwError, basic: boolean): string | undefined {
  return error.code === 'invalid_client' && basic ? `Basic realm="${REALM}"` : undefined
}

function bearerChallenge(error: AnyApimwError): string | undefined {
  switch (error.code) {
    case 'unauthorized':
      return `Bearer realm="${REALM}"`
    case 'invalid_request':
      return `Bearer realm="${REALM}", error="invalid_request"`
    case 'invalid_token':
      return `Bearer realm="${REALM}", error="invalid_token", error_description="${quotable(error.message)}"`
    case 'insufficient_scope':
      return `Bearer realm="${REALM}", error="insufficient_scope", scope="${quotable(error.required.join(' '))}"`
    default:
      return undefined
  }
}

/** RFC 6750 §3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E only. */
const quotable = (text: string): string => text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')
