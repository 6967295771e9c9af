import type { ParseArgsConfig } from 'node:util'
import type { Apimw, ApimwStore, SigningAlgorithm } from '@apimw/core'

/** Option definitions, as `node:util` `parseArgs` takes them. */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>

/** One option's parsed value, as `node:util` `parseArgs` returns it. */
export type OptionValue = string | boolean | (string | boolean)[] | undefined

/** A command's arguments after strict parsing (the command words removed). */
export interface ParsedArgs {
  values: Readonly<Record<string, OptionValue>>
  positionals: readonly string[]
}

/** What a command's task works with: the opened store, and APIMW instances over it. */
export interface CommandContext {
  store: ApimwStore
  /** An APIMW instance over the store, configured from the `APIMW_*` environment variables. */
  apimw(options?: { algorithms?: readonly SigningAlgorithm[] }): Apimw
  /** Now, in whole seconds since the epoch. */
  now(): number
  /** Applies the store's pending schema migrations; the versions applied (none for schemaless stores). */
  migrate(): Promise<number[]>
}

/** A command's output: the `--json` document, and the lines printed without `--json`. */
export interface CommandResult {
  json: unknown
  text: readonly string[]
}

/** The part of a command that touches the store; it runs only once the arguments are valid. */
export type CommandTask = (context: CommandContext) => Promise<CommandResult>

/** One `apimw` command: its words, help, options, and the check of its arguments. */
export interface Command {
  /** The command words, e.g. `['keys', 'create']`. */
  readonly words: readonly [string] | readonly [string, string]
  /** One line for the command list. */
  readonly summary: string
  /** The usage line after `apimw <words>`. */
  readonly usage: string
  /** Help text paragraphs shown under the usage line. */
  readonly description: readonly string[]
  /** The command's own options (the global ones are added by `run()`). */
  readonly options: OptionsConfig
  /** `[flag, explanation]` rows for the help text. */
  readonly optionHelp: readonly (readonly [string, string])[]
  /** Names of the positional arguments, all required. */
  readonly positionals: readonly string[]
  /**
   * Checks the arguments without touching the store, throwing a `UsageError` for bad input, and
   * returns the task that does the work.
   */
  prepare(args: ParsedArgs): CommandTask
}
