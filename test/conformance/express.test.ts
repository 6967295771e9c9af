import { expressHarness } from './apps.js'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite(expressHarness)
