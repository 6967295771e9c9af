import type { IncomingHttpHeaders } from 'node:http'

/** The headers the contract speaks about; anything else (Date, X-Powered-By…) is the framework's. */
const CONTRACT_HEADERS = [
  'content-type',
  'cache-control',
  'pragma',
  'www-authenticate',
  'retry-after',
  'allow',
]

/** The contract's headers of a response, to compare whole. */
export const contractHeaders = (res: { headers: IncomingHttpHeaders | Record<string, string> }) =>
  Object.fromEntries(
    CONTRACT_HEADERS.filter((n) => n in res.headers).map((n) => [n, res.headers[n]]),
  )

/** The headers of every JSON answer of the `/auth` routes and the guard. */
export const JSON_NO_STORE = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  pragma: 'no-cache',
}
