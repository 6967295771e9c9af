import { InvalidRequestError, PayloadTooLargeError } from '../errors.js'
import { findDuplicateTopLevelKey } from './json-duplicate-key.js'
import type { WireBody } from './types.js'

/** The largest body the `/auth` routes accept (CONTRACT §2). */
export const BODY_LIMIT = 16 * 1024

export type Parameters = Readonly<Record<string, string>>

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * The string parameters of a `/auth` request body: JSON or form-encoded, at most 16 KiB, each name
 * at most once, each value a string. Anything else throws `InvalidRequestError` (413 for size).
 */
export function parseParameters(
  body: WireBody,
  contentType: string | undefined,
  contentLength?: string,
): Parameters {
  if ('parsed' in body) {
    // A framework parser ran first: its own limit applied, so hold the declared size to ours.
    if (Number(contentLength) > BODY_LIMIT) throw new PayloadTooLargeError(BODY_LIMIT)
    return fromParsed(body.parsed)
  }
  const bytes = body.raw
  if (bytes.length > BODY_LIMIT) throw new PayloadTooLargeError(BODY_LIMIT)
  if (bytes.length === 0) return {}
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase()
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw malformed('the request body is not valid UTF-8')
  }
  if (mediaType === 'application/json') return fromJson(text)
  if (mediaType === 'application/x-www-form-urlencoded') return fromForm(text)
  throw malformed('the body must be application/json or application/x-www-form-urlencoded')
}

function fromJson(text: string): Parameters {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw malformed('the request body is not valid JSON')
  }
  if (!isPlainObject(value)) throw malformed('the request body must be a JSON object')
  const duplicate = findDuplicateTopLevelKey(text)
  if (duplicate !== undefined) throw malformed(`parameter "${safeName(duplicate)}" is repeated`)
  return stringsOnly(value)
}

function fromForm(text: string): Parameters {
  const out: Record<string, string> = Object.create(null)
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in out) throw malformed(`parameter "${safeName(name)}" is repeated`)
    out[name] = value
  }
  return out
}

function fromParsed(value: unknown): Parameters {
  if (value === undefined || value === null) return {}
  if (!isPlainObject(value)) throw malformed('the request body must be an object of parameters')
  for (const [name, member] of Object.entries(value)) {
    if (Array.isArray(member)) throw malformed(`parameter "${safeName(name)}" is repeated`)
  }
  return stringsOnly(value)
}

function stringsOnly(value: Record<string, unknown>): Parameters {
  const out: Record<string, string> = Object.create(null)
  for (const [name, member] of Object.entries(value)) {
    if (typeof member !== 'string')
      throw malformed(`parameter "${safeName(name)}" must be a string`)
    out[name] = member
  }
  return out
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A parameter name fit to echo: short, printable ASCII without quotes or backslashes. */
const safeName = (name: string): string => name.slice(0, 40).replace(/[^\x20-\x7e]|["\\]/g, '?')

const malformed = (description: string) =>
  new InvalidRequestError(description, { reason: 'malformed_request' })
