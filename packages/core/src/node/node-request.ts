/// <reference types="node" />
import type { IncomingMessage } from 'node:http'
import type { WireRequest } from '../wire/types.js'

/**
 * The header reader and TCP peer of a Node request, shared by the Express and Koa adapters. A
 * repeated header reads as its values joined by ", " (as a Fetch `Headers` does), never as the
 * first one only: two `Authorization` headers are then refused alike on every adapter.
 */
export function nodeRequestParts(req: IncomingMessage): Pick<WireRequest, 'header' | 'peer'> {
  const socket = req.socket
  return {
    header: (name) => req.headersDistinct[name.toLowerCase()]?.join(', '),
    peer: {
      address: socket.remoteAddress,
      encrypted: 'encrypted' in socket && socket.encrypted === true,
    },
  }
}
