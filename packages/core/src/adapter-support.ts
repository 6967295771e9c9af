import type { Apimw } from './create-apimw.js'
import { createApimw } from './create-apimw.js'
import type { ApimwOptions } from './options.js'

/**
 * For adapters: the instance passed to `apimwAuth()`, or a new one from options (checked here).
 *
 * @example
 * const apimw = toApimw(options) // options: ApimwOptions | Apimw
 */
export function toApimw(value: ApimwOptions | Apimw = {}): Apimw {
  const candidate = value as Partial<Apimw>
  return typeof candidate.handle === 'function' && typeof candidate.authenticate === 'function'
    ? (value as Apimw)
    : createApimw(value as ApimwOptions)
}

/**
 * For adapters' `requireBearer()`: the instance `apimwAuth()` left on the request (or the one given
 * explicitly), else the `TypeError` that tells how to mount it.
 */
export function mountedApimw(apimw: Apimw | undefined): Apimw {
  if (!apimw) {
    throw new TypeError(
      'requireBearer() needs app.use(apimwAuth()) before it, or { apimw } in its options',
    )
  }
  return apimw
}
