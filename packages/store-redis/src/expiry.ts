/**
 * Seconds a refresh token, a family or a revoked `jti` outlives its expiry before Redis drops it,
 * for clock skew between the callers. Every expiry the store sets is relative (`EXPIRE`/`EX`,
 * computed from the caller's `now`): decisions never depend on the Redis clock, and Redis expiry
 * only frees memory.
 */
export const RETENTION_SECONDS = 300
