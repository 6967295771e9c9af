/** What an adapter knows about a request body. */
export type WireBody =
  /** The raw bytes, at most `limit + 1` of them (one more tells that the limit was passed). */
  | { raw: Uint8Array }
  /** The value a framework body parser already produced (mount `apimwAuth()` first to avoid this). */
  | { parsed: unknown }

/** One HTTP request, as an adapter hands it to the core. */
export interface WireRequest {
  method: string
  /** Path and query, relative to where `apimwAuth()` is mounted. */
  target: string
  header(name: string): string | undefined
  /** The TCP peer, before any proxy header is considered. */
  peer: { address: string | undefined; encrypted: boolean }
  /**
   * Client IP and protocol as the framework resolved them with its own trust-proxy setting
   * (Express `req.ip`/`req.secure`). Used unless the `trustProxy` option is set.
   */
  resolved?: { ip: string | undefined; secure: boolean }
  /** Reads the body lazily; `limit` is the largest size the core accepts. */
  body(limit: number): Promise<WireBody>
}

/** The core's answer: the adapter writes it as is. `body` is serialized JSON. */
export interface WireResponse {
  status: number
  headers: Record<string, string>
  body?: string
}
