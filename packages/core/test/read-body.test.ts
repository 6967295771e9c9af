import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { InvalidRequestError } from '../src/errors.js'
import { readNodeBody } from '../src/node/read-node-body.js'
import { readWebBody } from '../src/wire/read-web-body.js'

function abortedStream(): Readable {
  return new Readable({
    read() {
      this.push(Buffer.from('{"grant_type":'))
      this.destroy(new Error('aborted'))
    },
  })
}

describe('body readers', () => {
  it('turn a client that aborts its upload into invalid_request, not a store failure', async () => {
    const req = Object.assign(abortedStream(), { headers: {} }) as unknown as IncomingMessage
    await expect(readNodeBody(req, 1024)).rejects.toBeInstanceOf(InvalidRequestError)
    const request = new Request('http://x/auth/token', {
      method: 'POST',
      body: Readable.toWeb(abortedStream()) as ReadableStream,
      duplex: 'half',
    } as RequestInit)
    await expect(readWebBody(request, 1024)).rejects.toBeInstanceOf(InvalidRequestError)
  })

  it('stop after limit + 1 bytes, whatever the client sends', async () => {
    const big = Readable.from([Buffer.alloc(10_000), Buffer.alloc(10_000)])
    const req = Object.assign(big, { headers: {} }) as unknown as IncomingMessage
    const body = await readNodeBody(req, 16)
    expect('raw' in body && body.raw.length).toBe(17)
    const web = await readWebBody(
      new Request('http://x', { method: 'POST', body: 'x'.repeat(100) }),
      16,
    )
    expect('raw' in web && web.raw.length).toBe(17)
  })
})
