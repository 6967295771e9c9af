import { describe, expect, it } from 'vitest'
import { deliverStoreChange, serializeStoreChange } from '../src/stores/store-change.js'
import type { StoreChange } from '../src/stores/types.js'

describe('deliverStoreChange', () => {
  it('hands a change to every listener, even past one that throws, and reports malformed input', () => {
    const seen: StoreChange[] = []
    const errors: unknown[] = []
    const listeners = [
      () => {
        throw new Error('listener failed')
      },
      (change: StoreChange) => seen.push(change),
    ]
    deliverStoreChange(
      serializeStoreChange({ kind: 'key', keyId: 'k' }),
      listeners,
      (e) => errors.push(e),
      'c',
    )
    deliverStoreChange('{"kind":"key"}', listeners, (e) => errors.push(e), 'c')
    expect(seen).toEqual([{ kind: 'key', keyId: 'k' }])
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'listener failed',
      'ignored a malformed change message on c',
    ])
  })
})
