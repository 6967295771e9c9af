/**
 * Postgres `text` (and `jsonb`) cannot hold U+0000, which a caller-supplied id may contain.
 * Lookups by such an id find nothing without asking the database (nothing with it can have been
 * stored), and names the store only matches on, never returns, go through {@link nulFree}.
 */
export const hasNul = (value: string): boolean => value.includes('\0')

/** Maps any string to NUL-free text, one-to-one (`\` becomes `\\`, U+0000 becomes `\0`). */
export function nulFree(value: string): string {
  return hasNul(value) || value.includes('\\')
    ? value.replaceAll('\\', '\\\\').replaceAll('\0', '\\0')
    : value
}
