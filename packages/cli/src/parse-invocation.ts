import { parseArgs } from 'node:util'
import { quoted } from './arguments.js'
import type { Command, OptionsConfig, ParsedArgs } from './command.js'
import { commandHelp, groupHelp, toolHelp } from './help.js'
import { UsageError } from './usage-error.js'

/** The options every command takes, wherever they appear on the command line. */
const GLOBAL_OPTIONS: OptionsConfig = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

const TOOL_OPTIONS: OptionsConfig = { ...GLOBAL_OPTIONS, version: { type: 'boolean' } }

/** What the command line asks for. */
export type Invocation =
  | { kind: 'help'; lines: string[] }
  | { kind: 'version' }
  | {
      kind: 'command'
      command: Command
      args: ParsedArgs
      json: boolean
      store: string | undefined
    }

/**
 * Reads the command line: the command words (`keys create`) may be preceded by global options,
 * and every option is checked strictly. Throws a `UsageError` for anything it does not know.
 */
export function parseInvocation(argv: readonly string[], commands: readonly Command[]): Invocation {
  const words = commandWords(argv)
  const [first, second] = words
  if (first === undefined) {
    const args = parseStrict(argv, TOOL_OPTIONS)
    checkPositionals(args, [])
    if (args.values.help === true) return { kind: 'help', lines: toolHelp(commands) }
    if (args.values.version === true) return { kind: 'version' }
    throw new UsageError('missing command; run "apimw --help" for the list')
  }
  if (first.word === 'help') {
    const topic = words.slice(1).map((entry) => entry.word)
    parseStrict(without(argv, words), TOOL_OPTIONS)
    return { kind: 'help', lines: helpFor(topic, commands) }
  }
  const group = commands.filter((command) => command.words[0] === first.word)
  if (group.length === 0) {
    throw new UsageError(`unknown command ${quoted(first.word)}; run "apimw --help" for the list`)
  }
  const single = group.find((entry) => entry.words.length === 1)
  if (single)
    return commandInvocation(
      single,
      parseStrict(without(argv, [first]), { ...single.options, ...GLOBAL_OPTIONS }),
    )
  if (second === undefined) {
    const args = parseStrict(without(argv, [first]), GLOBAL_OPTIONS)
    checkPositionals(args, [])
    if (args.values.help === true) return { kind: 'help', lines: groupHelp(first.word, group) }
    throw new UsageError(`missing command after "${first.word}"; use ${names(group)}`)
  }
  const command = group.find((entry) => entry.words[1] === second.word)
  if (command === undefined) {
    const name = quoted(`${first.word} ${second.word}`)
    throw new UsageError(`unknown command ${name}; the ${first.word} commands are ${names(group)}`)
  }
  return commandInvocation(
    command,
    parseStrict(without(argv, [first, second]), { ...command.options, ...GLOBAL_OPTIONS }),
  )
}

function commandInvocation(command: Command, args: ParsedArgs): Invocation {
  if (args.values.help === true) return { kind: 'help', lines: commandHelp(command) }
  checkPositionals(args, command.positionals)
  const store = args.values.store
  return {
    kind: 'command',
    command,
    args,
    json: args.values.json === true,
    store: typeof store === 'string' ? store : undefined,
  }
}

const names = (group: readonly Command[]): string =>
  group.map((command) => command.words[1]).join(', ')

function helpFor(topic: readonly string[], commands: readonly Command[]): string[] {
  const [group, name] = topic
  if (group === undefined) return toolHelp(commands)
  const members = commands.filter((command) => command.words[0] === group)
  if (members.length === 0 || topic.length > 2) {
    throw new UsageError(`no help for ${quoted(topic.join(' '))}; run "apimw --help" for the list`)
  }
  const single = members.find((entry) => entry.words.length === 1)
  if (single && name === undefined) return commandHelp(single)
  if (name === undefined) return groupHelp(group, members)
  const command = members.find((entry) => entry.words[1] === name)
  if (command === undefined) {
    throw new UsageError(`no help for ${quoted(topic.join(' '))}; use ${names(members)}`)
  }
  return commandHelp(command)
}

interface Word {
  word: string
  index: number
}

/** The arguments before `--` that are neither options nor the value of `--store`, in order. */
function commandWords(argv: readonly string[]): Word[] {
  const words: Word[] = []
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? ''
    if (token === '--') break
    if (token === '--store') index++
    else if (!token.startsWith('-') || token === '-') words.push({ word: token, index })
  }
  return words
}

function without(argv: readonly string[], words: readonly Word[]): string[] {
  const skip = new Set(words.map((entry) => entry.index))
  return argv.filter((_token, index) => !skip.has(index))
}

/** `parseArgs` in strict mode, with one-line messages and a check that no single-value option is given twice. */
function parseStrict(args: readonly string[], options: OptionsConfig): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
      tokens: true,
    })
  } catch (error) {
    throw new UsageError(parseArgsMessage(error))
  }
  const seen = new Set<string>()
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || options[token.name]?.multiple === true) continue
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`)
    seen.add(token.name)
  }
  return { values: parsed.values, positionals: parsed.positionals }
}

/** Checks the positional arguments against their names: none missing, none extra. */
function checkPositionals(args: ParsedArgs, names: readonly string[]): void {
  const extra = args.positionals[names.length]
  if (extra !== undefined) throw new UsageError(`unexpected argument ${quoted(extra)}`)
  const missing = names[args.positionals.length]
  if (missing !== undefined) throw new UsageError(`missing argument ${missing}`)
}

function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : String(error)
  const option = /^(?:Unknown option|Option) '(-[^' =]*)/.exec(text)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    return `unknown option ${quoted(option)}; run with --help for the options`
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    if (text.includes('does not take an argument')) return `${option} takes no value`
    if (text.includes('ambiguous')) {
      return `${option} needs a value (write ${option}=-x for a value that starts with "-")`
    }
    return `${option} needs a value`
  }
  return (text.split('\n')[0] ?? 'bad arguments').trim()
}
