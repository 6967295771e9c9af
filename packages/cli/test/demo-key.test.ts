import { createApimw, createMemoryStore } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { printDemoKey } from '../src/index.js'

describe('printDemoKey', () => {
  it('creates one demo key in an empty test store and prints it once with curl lines', async () => {
    const apimw = createApimw({ store: createMemoryStore(), environment: 'test' })
    const lines: string[] = []
    const key = await printDemoKey(apimw, 'http://127.0.0.1:3000', (line) => lines.push(line))
    expect(key).toMatch(/^apimw_test_/)
    const [record] = await apimw.keys.list()
    expect(record).toMatchObject({ key, name: 'demo', scopes: ['orders:read', 'orders:write'] })
    expect(lines).toContain(`export APIMW_API_KEY='${key}'`)
    expect(lines.filter((line) => line.startsWith("export APIMW_API_SECRET='"))).toHaveLength(1)
    expect(
      await printDemoKey(apimw, 'http://127.0.0.1:3000', (line) => lines.push(line)),
    ).toBeUndefined()
    expect(await apimw.keys.list()).toHaveLength(1)
  })

  it('never creates a key in live', async () => {
    const apimw = createApimw({ store: createMemoryStore(), environment: 'live' })
    const lines: string[] = []
    expect(
      await printDemoKey(apimw, 'https://api.example.com', (line) => lines.push(line)),
    ).toBeUndefined()
    expect(lines).toEqual([])
    expect(await apimw.keys.list()).toEqual([])
  })
})
