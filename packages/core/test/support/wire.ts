import type { WireRequest } from '../../src/wire/types.js'

/** A bodiless request from 127.0.0.1: POST for `/auth/*`, GET otherwise. */
export const wireRequest = (target: string, authorization: string): WireRequest => ({
  method: target.startsWith('/auth') ? 'POST' : 'GET',
  target,
  header: (name) => (name === 'authorization' ? authorization : undefined),
  peer: { address: '127.0.0.1', encrypted: false },
  body: async () => ({ raw: new Uint8Array() }),
})
