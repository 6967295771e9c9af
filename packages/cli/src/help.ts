import type { Command } from './command.js'
import { table } from './format.js'

/** Help rows of the options every command takes. */
export const GLOBAL_OPTION_HELP: readonly (readonly [string, string])[] = [
  [
    '--store URL',
    'the store: memory:, sqlite:<path> (default: APIMW_STORE, else sqlite:.apimw/apimw.db)',
  ],
  ['--json', 'print exactly one JSON document on stdout'],
  ['-h, --help', 'show help'],
]

const ENVIRONMENT: readonly (readonly [string, string])[] = [
  [
    'APIMW_STORE',
    'the store URL (--store overrides it); a relative sqlite: path resolves against the',
  ],
  ['', 'directory the command was started from (INIT_CWD under pnpm)'],
  ['APIMW_ENV', 'test or live: the default environment of new keys (default: live when'],
  ['', 'NODE_ENV=production, else test)'],
]

const EXIT_CODES: readonly (readonly [string, string])[] = [
  ['0', 'done'],
  ['1', "a failure that is not the input's: the store cannot be opened or fails"],
  ['2', 'bad input: unknown command or option, bad value, unknown key; nothing was changed'],
]

const indent = (rows: readonly (readonly string[])[]): string[] =>
  table(rows).map((line) => `  ${line}`)

export function toolHelp(commands: readonly Command[]): string[] {
  return [
    'apimw: manage the API keys, signing keys and audit log of an APIMW store.',
    '',
    'Usage: apimw <command> [options]',
    '',
    'Commands:',
    ...indent(commands.map((command) => [command.words.join(' '), command.summary])),
    '',
    'Options (every command):',
    ...indent([...GLOBAL_OPTION_HELP, ['--version', 'print the version of apimw']]),
    '',
    'Environment:',
    ...indent(ENVIRONMENT),
    '',
    'Exit codes:',
    ...indent(EXIT_CODES),
    '',
    'Run "apimw <command> --help" for a command\'s options.',
  ]
}

export function groupHelp(group: string, commands: readonly Command[]): string[] {
  return [
    `Usage: apimw ${group} <command> [options]`,
    '',
    'Commands:',
    ...indent(commands.map((command) => [command.words.join(' '), command.summary])),
    '',
    `Run "apimw ${group} <command> --help" for a command's options.`,
  ]
}

export function commandHelp(command: Command): string[] {
  const usage = `Usage: apimw ${command.words.join(' ')} ${command.usage}`.trimEnd()
  const lines = [`${usage} [--json] [--store URL]`, '', ...command.description, '']
  if (command.optionHelp.length > 0) lines.push('Options:', ...indent(command.optionHelp), '')
  lines.push(
    'Global options:',
    ...indent(GLOBAL_OPTION_HELP),
    '',
    'Exit codes:',
    ...indent(EXIT_CODES),
  )
  return lines
}
