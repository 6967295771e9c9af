import type { Command } from '../command.js'
import { shortTime, table } from '../format.js'
import { signingKeyStatus, signingKeyView } from '../views.js'

export const signingKeysList: Command = {
  words: ['signing-keys', 'list'],
  summary: 'List the token signing keys (never their private material)',
  usage: '',
  description: [
    'Lists the keys that sign and verify access tokens, newest first: the active one, and rotated ones',
    'that still verify tokens issued before the rotation. With --json: an array of keys.',
  ],
  options: {},
  optionHelp: [],
  positionals: [],
  prepare() {
    return async ({ apimw, now }) => {
      const records = await apimw().signingKeys.list()
      const at = now()
      return {
        json: records.map(signingKeyView),
        text:
          records.length === 0
            ? ['No signing keys yet: the first is made when a server issues its first token.']
            : table([
                ['KID', 'ALG', 'STATUS', 'CREATED', 'ROTATED', 'NOT AFTER'],
                ...records.map((record) => [
                  record.kid,
                  record.alg,
                  signingKeyStatus(record, at),
                  shortTime(record.createdAt),
                  shortTime(record.rotatedAt),
                  shortTime(record.notAfter),
                ]),
              ]),
      }
    }
  },
}
