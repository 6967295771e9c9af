import { readdirSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

const packages = readdirSync('packages', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)

export default defineConfig({
  resolve: { conditions: ['@apimw/source'] },
  ssr: { resolve: { conditions: ['@apimw/source'], externalConditions: ['@apimw/source'] } },
  test: {
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'] },
      })),
      { extends: true as const, test: { name: 'test', root: 'test', include: ['**/*.test.ts'] } },
    ],
  },
})
