import { resolve } from 'node:path'
import type { Apimw, EnvConfig } from '@apimw/core'
import { configFromEnv, createApimw, KeyManagementError, resolveOptions } from '@apimw/core'
import type { Command, CommandContext, CommandResult } from './command.js'
import { auditTail } from './commands/audit-tail.js'
import { keysCreate } from './commands/keys-create.js'
import { keysList } from './commands/keys-list.js'
import { keysRevoke } from './commands/keys-revoke.js'
import { keysRotate } from './commands/keys-rotate.js'
import { keysShow } from './commands/keys-show.js'
import { migrateCommand } from './commands/migrate.js'
import { signingKeysList } from './commands/signing-keys-list.js'
import { signingKeysRotate } from './commands/signing-keys-rotate.js'
import { printable } from './format.js'
import type { Invocation } from './parse-invocation.js'
import { parseInvocation } from './parse-invocation.js'
import type { OpenedStore } from './store.js'
import { openStore, parseStoreUrl, redactPassword } from './store.js'
import { UsageError } from './usage-error.js'
import { cliVersion } from './version.js'

/** Where `run()` reads and writes: the process's streams and environment, or fakes in tests. */
export interface RunIo {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
  /** `APIMW_*` variables (CONTRACT §8) and `INIT_CWD`. */
  env: Readonly<Record<string, string | undefined>>
  /** The working directory; a relative `sqlite:` path resolves against `INIT_CWD`, else this. */
  cwd: string
  /** The current time. Default `() => new Date()`. */
  clock?: () => Date
}

/** Every command, in the order `apimw --help` lists them. */
export const COMMANDS: readonly Command[] = [
  keysCreate,
  keysList,
  keysShow,
  keysRotate,
  keysRevoke,
  signingKeysList,
  signingKeysRotate,
  auditTail,
  migrateCommand,
]

/** Not the caller's fault (exit 1): the store cannot be opened or fails. The message is safe to print. */
class StoreFailure extends Error {
  override readonly name = 'StoreFailure'
}

/**
 * Runs the `apimw` command line and resolves to its exit code: 0 done, 1 a failure that is not the
 * caller's (the store), 2 bad input (one line on stderr, nothing on stdout, nothing changed). With
 * `--json`, stdout gets exactly one JSON document. Never throws.
 *
 * @example
 * process.exitCode = await run(process.argv.slice(2), { stdout, stderr, env, cwd: process.cwd() })
 */
export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  try {
    const invocation = parseInvocation(argv, COMMANDS)
    if (invocation.kind === 'help') return print(io, invocation.lines)
    if (invocation.kind === 'version') return print(io, [cliVersion()])
    return await execute(invocation, io)
  } catch (error) {
    return failed(io, error)
  }
}

type CommandInvocation = Extract<Invocation, { kind: 'command' }>

async function execute(invocation: CommandInvocation, io: RunIo): Promise<number> {
  // Everything is checked before the store is opened: bad input never touches it.
  const task = invocation.command.prepare(invocation.args)
  const config = environmentConfig(io.env)
  const url = invocation.store ?? config.store
  const where = storeUrl(url)
  if (config.tokenStore !== undefined) storeUrl(config.tokenStore)
  const clock = io.clock ?? (() => new Date())

  let opened: OpenedStore
  try {
    opened = await openStore(url, {
      cwd: resolve(io.cwd, io.env.INIT_CWD || '.'),
      tokenStore: config.tokenStore,
    })
  } catch (error) {
    throw new StoreFailure(
      `cannot open the store ${where}: ${describe(error, url, config.tokenStore)}`,
    )
  }

  const problems: unknown[] = []
  const instances: Apimw[] = []
  const context: CommandContext = {
    store: opened.store,
    apimw(options = {}) {
      const apimw = createApimw({
        ...config.options,
        ...options,
        store: opened.store,
        clock,
        onError: (error) => problems.push(error),
      })
      instances.push(apimw)
      return apimw
    },
    now: () => Math.floor(clock().getTime() / 1000),
    migrate: () => opened.migrate(),
  }
  let result: CommandResult
  try {
    result = await task(context)
  } catch (error) {
    if (error instanceof UsageError || isBadInput(error)) throw error
    throw new StoreFailure(`the store ${where} failed: ${describe(error, url, config.tokenStore)}`)
  } finally {
    // Instances first (they stop listening to the store's change feed), then the store.
    for (const apimw of instances)
      await apimw.close().catch((error: unknown) => problems.push(error))
    await opened.close().catch((error: unknown) => problems.push(error))
  }

  // The result is printed even if writing its audit event failed: a secret must not be lost.
  print(io, invocation.json ? [JSON.stringify(result.json, null, 2)] : result.text)
  const [problem] = problems
  if (problem === undefined) return 0
  io.stderr.write(
    `apimw: done, but the store ${where} failed afterwards: ${describe(problem, url, config.tokenStore)}\n`,
  )
  return 1
}

/** The `APIMW_*` variables, checked in full (a bad one is bad input), before the store is opened. */
function environmentConfig(env: RunIo['env']): EnvConfig {
  try {
    const config = configFromEnv(env)
    resolveOptions(config.options)
    return config
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

function storeUrl(url: string): string {
  try {
    return parseStoreUrl(url).redacted
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

const isBadInput = (error: unknown): error is KeyManagementError =>
  error instanceof KeyManagementError &&
  (error.code === 'invalid_input' || error.code === 'not_found')

function print(io: RunIo, lines: readonly string[]): number {
  io.stdout.write(lines.map((line) => `${line}\n`).join(''))
  return 0
}

/** One line on stderr, never a stack trace; exit code 2 for bad input, else 1. */
function failed(io: RunIo, error: unknown): number {
  if (error instanceof UsageError || isBadInput(error)) {
    io.stderr.write(`apimw: ${oneLine(error.message)}\n`)
    return 2
  }
  if (error instanceof StoreFailure) {
    io.stderr.write(`apimw: ${oneLine(error.message)}\n`)
    return 1
  }
  io.stderr.write(`apimw: unexpected error: ${oneLine(describe(error, ''))}\n`)
  return 1
}

/** A driver's error as one short line: its message (and code), with the store URL's password hidden. */
/** One line about an error, with the password of every store URL in play replaced by `***`. */
function describe(error: unknown, url: string, tokenStore?: string): string {
  const { message, code } =
    error instanceof Error
      ? (error as Error & { code?: unknown })
      : { message: String(error), code: undefined }
  let text = oneLine(message) || (error instanceof Error ? error.name : 'unknown error')
  if (typeof code === 'string' && !text.includes(code)) text += ` (${code})`
  const redacted = redactPassword(text, url)
  return (tokenStore === undefined ? redacted : redactPassword(redacted, tokenStore)).slice(0, 300)
}

const oneLine = (text: string): string => printable((text.split('\n')[0] ?? '').trim())
