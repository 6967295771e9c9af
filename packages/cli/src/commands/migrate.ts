import type { Command } from '../command.js'

export const migrateCommand: Command = {
  words: ['migrate'],
  summary: 'Apply pending schema migrations to the store (PostgreSQL)',
  usage: '',
  description: [
    'Applies the pending, versioned schema migrations, under a lock so that several processes may run',
    'it at once; running it again applies nothing. SQLite migrates whenever it is opened; memory and',
    'Redis stores have no schema. With --json: { "applied": [versions] }.',
  ],
  options: {},
  optionHelp: [],
  positionals: [],
  prepare() {
    return async ({ migrate }) => {
      const applied = await migrate()
      return {
        json: { applied },
        text: [
          applied.length === 0
            ? 'The store schema is up to date.'
            : `Applied migrations ${applied.join(', ')}.`,
        ],
      }
    }
  },
}
