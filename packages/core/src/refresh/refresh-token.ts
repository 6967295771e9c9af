import { base64url, randomBytes, sha256 } from '../internal/encoding.js'

const PREFIX = 'apimw_rt_'

/** A new opaque refresh token: a recognisable prefix and 256 random bits. */
export const generateRefreshToken = (): string => PREFIX + base64url(randomBytes(32))

/** Refresh tokens carry 256 random bits, so a plain SHA-256 is enough at rest. */
export const hashRefreshToken = async (token: string): Promise<string> =>
  `sha256:${base64url(await sha256(token))}`

export const looksLikeRefreshToken = (token: string): boolean => token.startsWith(PREFIX)

export const newFamilyId = (): string => base64url(randomBytes(16))
