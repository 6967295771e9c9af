import { keyId, positional, quoted, stringOption, wholeNumber } from '../arguments.js'
import type { Command } from '../command.js'
import { fields, isoTime, shortTime } from '../format.js'
import { UsageError } from '../usage-error.js'

/** Core's default grace period, one day. */
const DEFAULT_GRACE = 86_400

export const keysRotate: Command = {
  words: ['keys', 'rotate'],
  summary: 'Give a key a new secret; the old one works for a grace period',
  usage: 'KEY [--grace SECONDS]',
  description: [
    'Gives the key a new secret and prints it (shown this once). The previous secret keeps working',
    'for the grace period, so clients can switch over; --grace 0 ends it now.',
  ],
  options: { grace: { type: 'string' } },
  optionHelp: [
    ['--grace SECONDS', `how long the previous secret keeps working (default ${DEFAULT_GRACE})`],
  ],
  positionals: ['KEY'],
  prepare(args) {
    const key = keyId(positional(args, 0))
    const grace = stringOption(args, 'grace')
    const graceSeconds = grace === undefined ? DEFAULT_GRACE : wholeNumber(grace, '--grace', 0)
    return async ({ apimw }) => {
      const instance = apimw()
      const current = await instance.keys.get(key)
      if (current === undefined) throw new UsageError(`no API key ${quoted(key)} in this store`)
      if (current.revokedAt !== null)
        throw new UsageError(`the API key ${key} is revoked; it cannot be rotated`)
      const { record, secret, previousSecretExpiresAt } = await instance.keys.rotate(key, {
        graceSeconds,
      })
      return {
        json: {
          key: record.key,
          secret,
          previousSecretExpiresAt: isoTime(previousSecretExpiresAt),
        },
        text: [
          `Rotated API key ${record.key}.`,
          ...fields([
            ['key', record.key],
            ['secret', secret],
            ['previous secret works until', shortTime(previousSecretExpiresAt)],
          ]),
          'The new secret is shown only this once: store it now.',
        ],
      }
    }
  },
}
