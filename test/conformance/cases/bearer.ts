import type { AdapterHarness } from '../harness.js'

export function bearerCases(_h: AdapterHarness): void {}
