import type { AdapterHarness } from '../harness.js'

export function refreshCases(_h: AdapterHarness): void {}
