import { honoHarness } from './apps.js'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite(honoHarness)
