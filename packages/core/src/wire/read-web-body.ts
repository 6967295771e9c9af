import { InvalidRequestError } from '../errors.js'
import type { WireBody } from './types.js'

/** Reads a Fetch `Request` body, stopping after `limit + 1` bytes (the core answers 413 then). */
export async function readWebBody(request: Request, limit: number): Promise<WireBody> {
  if (Number(request.headers.get('content-length')) > limit)
    return { raw: new Uint8Array(limit + 1) }
  if (!request.body) return { raw: new Uint8Array(0) }
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size <= limit) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.length
    }
    if (size > limit) await reader.cancel()
  } catch {
    // The client went away mid-upload: its fault, not a store failure.
    throw new InvalidRequestError('the request body could not be read', {
      reason: 'malformed_request',
    })
  }
  const out = new Uint8Array(Math.min(size, limit + 1))
  let offset = 0
  for (const chunk of chunks) {
    const part = chunk.subarray(0, out.length - offset)
    out.set(part, offset)
    offset += part.length
  }
  return { raw: out }
}
