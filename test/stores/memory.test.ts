import { createMemoryStore } from '@apimw/core'
import { defineStoreSuite } from './define-store-suite.js'

defineStoreSuite('memory store', async () => ({
  store: createMemoryStore(),
  cleanup: async () => {},
}))
