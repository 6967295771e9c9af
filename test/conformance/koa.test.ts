import { koaHarness } from './apps.js'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite(koaHarness)
