/**
 * Readers for script replies. Scripts return only strings, integers, nil and flat arrays, whose
 * shapes are the same under RESP2 and RESP3 (ioredis 6 speaks RESP3 by default). A missing hash
 * field is `nil` under RESP2 and may be `false` under RESP3: both read as `null`.
 */
export type Fields = (string | null)[]

export function readFields(reply: unknown): Fields | null {
  if (reply === null || reply === undefined || reply === false) return null
  if (!Array.isArray(reply)) throw new TypeError('unexpected Redis reply')
  return reply.map((value: unknown) => {
    if (value === null || value === false) return null
    if (typeof value === 'string') return value
    if (typeof value === 'number') return String(value)
    throw new TypeError('unexpected Redis reply')
  })
}

/** Reads an optional timestamp field: the store writes `''` for `null`. */
export function readTime(value: string | null | undefined): number | null {
  return value === null || value === undefined || value === '' ? null : Number(value)
}

/** Writes an optional timestamp field. */
export function writeTime(value: number | null): string {
  return value === null ? '' : String(value)
}

export function readNumber(value: string | null | undefined): number {
  if (value === null || value === undefined || value === '') {
    throw new TypeError('unexpected Redis reply: missing number')
  }
  return Number(value)
}

export function readString(value: string | null | undefined): string {
  if (value === null || value === undefined) throw new TypeError('unexpected Redis reply')
  return value
}
