import { keyId, positional, quoted } from '../arguments.js'
import type { Command } from '../command.js'
import { UsageError } from '../usage-error.js'
import { keyLines, keyView } from '../views.js'

export const keysShow: Command = {
  words: ['keys', 'show'],
  summary: 'Show one API key (never its secret)',
  usage: 'KEY',
  description: [
    'Shows one API key: its name, environment, scopes, allowed IPs, times and metadata.',
  ],
  options: {},
  optionHelp: [],
  positionals: ['KEY'],
  prepare(args) {
    const key = keyId(positional(args, 0))
    return async ({ apimw, now }) => {
      const record = await apimw().keys.get(key)
      if (record === undefined) throw new UsageError(`no API key ${quoted(key)} in this store`)
      return { json: keyView(record), text: keyLines(record, now()) }
    }
  },
}
