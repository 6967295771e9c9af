import type { AdapterHarness } from '../harness.js'

export function revokeCases(_h: AdapterHarness): void {}
