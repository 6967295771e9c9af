import type { Command } from '../command.js'
import { list, printable, shortTime, table } from '../format.js'
import { keyStatus, keyView } from '../views.js'

export const keysList: Command = {
  words: ['keys', 'list'],
  summary: 'List API keys, oldest first (never their secrets)',
  usage: '',
  description: ['Lists every API key in the store, oldest first. With --json: an array of keys.'],
  options: {},
  optionHelp: [],
  positionals: [],
  prepare() {
    return async ({ apimw, now }) => {
      const records = await apimw().keys.list()
      const at = now()
      return {
        json: records.map(keyView),
        text:
          records.length === 0
            ? ['No API keys yet. Create one with: apimw keys create --name NAME']
            : table([
                ['KEY', 'NAME', 'ENV', 'STATUS', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED'],
                ...records.map((record) => [
                  record.key,
                  printable(record.name),
                  record.environment,
                  keyStatus(record, at),
                  list(record.scopes),
                  shortTime(record.createdAt),
                  record.expiresAt === null ? 'never' : shortTime(record.expiresAt),
                  shortTime(record.lastUsedAt),
                ]),
              ]),
      }
    }
  },
}
