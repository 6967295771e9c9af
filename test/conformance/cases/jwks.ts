import type { AdapterHarness } from '../harness.js'

export function jwksCases(_h: AdapterHarness): void {}
