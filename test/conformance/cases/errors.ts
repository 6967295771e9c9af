import type { AdapterHarness } from '../harness.js'

export function errorCases(_h: AdapterHarness): void {}
