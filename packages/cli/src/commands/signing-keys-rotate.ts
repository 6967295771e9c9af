import type { SigningAlgorithm } from '@apimw/core'
import { flagOption, quoted, stringOption } from '../arguments.js'
import type { Command } from '../command.js'
import { shortTime } from '../format.js'
import { UsageError } from '../usage-error.js'
import { signingKeyView } from '../views.js'

const ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256', 'HS256']

const isAlgorithm = (value: string): value is SigningAlgorithm =>
  (ALGORITHMS as readonly string[]).includes(value)

export const signingKeysRotate: Command = {
  words: ['signing-keys', 'rotate'],
  summary: 'Make a new active signing key',
  usage: '[--retire-previous] [--alg ALG]',
  description: [
    'Makes a new signing key the active one for its algorithm. Tokens signed by the previous key keep',
    'verifying until they expire, unless --retire-previous ends them now (after a key leak). Servers',
    'sharing the store switch within their cache time (5 s by default).',
  ],
  options: { 'retire-previous': { type: 'boolean' }, alg: { type: 'string' } },
  optionHelp: [
    ['--retire-previous', 'stop verifying tokens signed by the previous key now'],
    [
      '--alg ALG',
      `the algorithm whose key to rotate: ${ALGORITHMS.join(', ')} (default: the active key's, else ES256)`,
    ],
  ],
  positionals: [],
  prepare(args) {
    const retirePrevious = flagOption(args, 'retire-previous')
    const alg = stringOption(args, 'alg')
    if (alg !== undefined && !isAlgorithm(alg)) {
      throw new UsageError(`--alg must be one of ${ALGORITHMS.join(', ')}, not ${quoted(alg)}`)
    }
    return async ({ apimw, store }) => {
      const active = (await store.signingKeys.list()).find((record) => record.rotatedAt === null)
      const activeAlg = active !== undefined && isAlgorithm(active.alg) ? active.alg : undefined
      const algorithm = alg ?? activeAlg ?? 'ES256'
      const record = await apimw({ algorithms: [algorithm] }).signingKeys.rotate({ retirePrevious })
      const previous = retirePrevious ? 'is retired now' : 'verifies until its tokens expire'
      return {
        json: signingKeyView(record),
        text: [
          `New active ${record.alg} signing key ${record.kid}, created ${shortTime(record.createdAt)}.`,
          `The previous ${record.alg} key, if any, ${previous}.`,
        ],
      }
    }
  },
}
