import type { AdapterHarness } from '../harness.js'

export function httpsProxyCases(_h: AdapterHarness): void {}
