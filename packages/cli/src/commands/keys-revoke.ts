import { keyId, positional, quoted } from '../arguments.js'
import type { Command } from '../command.js'
import { shortTime } from '../format.js'
import { UsageError } from '../usage-error.js'
import { keyView } from '../views.js'

export const keysRevoke: Command = {
  words: ['keys', 'revoke'],
  summary: 'Revoke a key, its refresh tokens and its access tokens',
  usage: 'KEY',
  description: [
    'Revokes the API key for good: its secrets, refresh tokens and access tokens stop working (servers',
    'sharing the store notice within their cache time, 5 s by default). Revoking a revoked key changes',
    'nothing. With --json: the key as `keys show` prints it.',
  ],
  options: {},
  optionHelp: [],
  positionals: ['KEY'],
  prepare(args) {
    const key = keyId(positional(args, 0))
    return async ({ apimw }) => {
      const instance = apimw()
      const current = await instance.keys.get(key)
      if (current === undefined) throw new UsageError(`no API key ${quoted(key)} in this store`)
      if (current.revokedAt !== null) {
        return {
          json: keyView(current),
          text: [`API key ${key} was already revoked at ${shortTime(current.revokedAt)}.`],
        }
      }
      const record = await instance.keys.revoke(key)
      return {
        json: keyView(record),
        text: [`Revoked API key ${key} at ${shortTime(record.revokedAt)}.`],
      }
    }
  },
}
