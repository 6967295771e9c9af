import proxyaddr from 'proxy-addr'
import type { WireRequest } from './types.js'

/**
 * Which proxies to trust, in Express's `trust proxy` syntax: `true` (all), `false` (none), a hop
 * count, `'loopback'`/`'linklocal'`/`'uniquelocal'`, addresses and CIDRs (a list or a
 * comma-separated string), or a function `(address, hop) => boolean`.
 */
export type TrustProxy =
  | boolean
  | number
  | string
  | readonly string[]
  | ((address: string, hop: number) => boolean)

export type TrustFunction = (address: string, hop: number) => boolean

/** Express's `compileTrust`, so every adapter resolves proxies exactly as Express does. */
export function compileTrust(value: TrustProxy): TrustFunction {
  if (typeof value === 'function') return value
  if (value === true) return () => true
  if (value === false) return () => false
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      throw new TypeError('"trustProxy" as a number must be a hop count (a whole number >= 0)')
    }
    return (_address, hop) => hop < value
  }
  const list = typeof value === 'string' ? value.split(',').map((v) => v.trim()) : [...value]
  try {
    return proxyaddr.compile(list)
  } catch (error) {
    throw new TypeError(`"trustProxy" is not valid: ${(error as Error).message}`)
  }
}

export interface ClientAddress {
  ip: string | undefined
  secure: boolean
}

/**
 * The client's IP and protocol (CONTRACT §6): `X-Forwarded-For` walked from the right while hops
 * are trusted, `X-Forwarded-Proto` (first value) only when the peer is trusted. With `trust`
 * undefined, the framework's own resolution is used if it gave one, else the bare peer.
 */
export function resolveClientAddress(
  req: WireRequest,
  trust: TrustFunction | undefined,
): ClientAddress {
  if (!trust) return req.resolved ?? { ip: req.peer.address, secure: req.peer.encrypted }
  const peer = req.peer.address
  if (peer === undefined) return { ip: undefined, secure: req.peer.encrypted }
  const forwardedFor = req.header('x-forwarded-for')
  const ip = proxyaddr(
    {
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
      socket: { remoteAddress: peer },
      connection: { remoteAddress: peer },
    } as unknown as Parameters<typeof proxyaddr>[0],
    trust,
  )
  let secure = req.peer.encrypted
  if (trust(peer, 0)) {
    const proto = req.header('x-forwarded-proto')
    if (proto !== undefined) secure = proto.split(',')[0]?.trim().toLowerCase() === 'https'
  }
  return { ip, secure }
}
