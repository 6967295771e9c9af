import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStore } from '@apimw/store-sqlite'
import { defineStoreSuite } from './define-store-suite.js'

defineStoreSuite(
  'sqlite store',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apimw-store-suite-'))
    const path = join(dir, 'apimw.db')
    const store = createSqliteStore({ path })
    return {
      store,
      path,
      cleanup: async () => {
        await store.close?.()
        await rm(dir, { recursive: true, force: true })
      },
    }
  },
  {
    openSecond: async ({ path }) => {
      const store = createSqliteStore({ path })
      return { store, cleanup: async () => store.close?.() }
    },
  },
)

defineStoreSuite('sqlite store in memory', async () => {
  const store = createSqliteStore({ path: ':memory:' })
  return { store, cleanup: async () => store.close?.() }
})
