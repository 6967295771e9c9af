/// <reference types="node" />
import type { IncomingMessage } from 'node:http'
import { InvalidRequestError } from '../errors.js'
import type { WireBody } from '../wire/types.js'

/**
 * Reads an `IncomingMessage` body, stopping after `limit + 1` bytes (the core answers 413 then).
 * If a framework body parser already consumed the stream, hands over its parsed value instead.
 */
export async function readNodeBody(
  req: IncomingMessage,
  limit: number,
  parsed?: unknown,
): Promise<WireBody> {
  if (req.readableEnded || req.readableDidRead) return { parsed }
  const declared = Number(req.headers['content-length'])
  if (declared > limit) return { raw: new Uint8Array(limit + 1) }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      size += chunk.length
      if (size > limit) break
    }
  } catch {
    // The client went away mid-upload: its fault, not a store failure.
    throw new InvalidRequestError('the request body could not be read', {
      reason: 'malformed_request',
    })
  }
  return { raw: new Uint8Array(Buffer.concat(chunks).subarray(0, limit + 1)) }
}
