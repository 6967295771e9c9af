import { honoFetchHarness } from './apps.js'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite(honoFetchHarness)
