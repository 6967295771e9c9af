import { readFileSync } from 'node:fs'

/** This package's version, read from its package.json (one level above both `src/` and `dist/`). */
export function cliVersion(): string {
  try {
    const manifest: unknown = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    )
    const version = (manifest as { version?: unknown }).version
    return typeof version === 'string' ? version : 'unknown'
  } catch {
    return 'unknown'
  }
}
