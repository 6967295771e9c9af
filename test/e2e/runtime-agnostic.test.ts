import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

it('keeps node: imports out of the core entry and the Hono adapter (only @apimw/core/node has them)', () => {
  const files = [
    ...sources(join(root, 'packages/core/src')),
    ...sources(join(root, 'packages/hono/src')),
  ].filter((file) => !file.includes(`${join('core', 'src', 'node')}`))
  expect(files.length).toBeGreaterThan(20)
  const offenders = files.filter((file) =>
    /from ['"]node:|require\(['"]node:|import\(['"]node:/.test(readFileSync(file, 'utf8')),
  )
  expect(offenders.map((file) => relative(root, file))).toEqual([])
})
