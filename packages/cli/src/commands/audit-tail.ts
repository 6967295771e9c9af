import { keyId, stringOption, wholeNumber } from '../arguments.js'
import type { Command } from '../command.js'
import { auditLine } from '../views.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 100_000

export const auditTail: Command = {
  words: ['audit', 'tail'],
  summary: 'Print the newest audit events, oldest first',
  usage: '[--key KEY] [--limit N]',
  description: [
    'Prints the newest audit events (key changes, tokens issued, failed attempts, denials), oldest',
    'first. --key also finds failed attempts with a key id the store does not hold. With --json: an',
    'array of events { type, at, keyId?, ip?, reason?, requestId?, details? }.',
  ],
  options: { key: { type: 'string' }, limit: { type: 'string' } },
  optionHelp: [
    ['--key KEY', 'only the events of this key'],
    ['--limit N', `how many events (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`],
  ],
  positionals: [],
  prepare(args) {
    const key = stringOption(args, 'key')
    const keyFilter = key === undefined ? undefined : keyId(key)
    const limitText = stringOption(args, 'limit')
    const limit =
      limitText === undefined ? DEFAULT_LIMIT : wholeNumber(limitText, '--limit', 1, MAX_LIMIT)
    return async ({ store }) => {
      const events = await store.audit.tail(
        keyFilter === undefined ? { limit } : { keyId: keyFilter, limit },
      )
      return {
        json: events,
        text: events.length === 0 ? ['No audit events.'] : events.map(auditLine),
      }
    }
  },
}
