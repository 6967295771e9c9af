import type { Environment } from '@apimw/core'
import { keyEnvironment, parseAllowedIp } from '@apimw/core'
import type { OptionValue, ParsedArgs } from './command.js'
import { printable } from './format.js'
import { UsageError } from './usage-error.js'

/** Quoted input for an error message: shortened, control characters replaced. */
export const quoted = (text: string): string => `"${printable(text.slice(0, 80))}"`

/** The value of a single-value string option, or `undefined` when it was not given. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value: OptionValue = args.values[name]
  return typeof value === 'string' ? value : undefined
}

/** Every value of a repeatable string option, in order. */
export function stringsOption(args: ParsedArgs, name: string): string[] {
  const value: OptionValue = args.values[name]
  const values = Array.isArray(value) ? value : [value]
  return values.filter((entry): entry is string => typeof entry === 'string')
}

export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true
}

/** The n-th positional argument (its presence is checked by `run()`). */
export function positional(args: ParsedArgs, index: number): string {
  const value = args.positionals[index]
  if (value === undefined) throw new UsageError('missing argument')
  return value
}

const WHOLE = /^(0|[1-9][0-9]*)$/

/** A whole number of seconds or a count, within `min`..`max`; `option` names it in the message. */
export function wholeNumber(
  value: string,
  option: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const number = WHOLE.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw new UsageError(`${option} must be a whole number ${range}, not ${quoted(value)}`)
  }
  return number
}

export function environmentOption(value: string): Environment {
  if (value !== 'test' && value !== 'live') {
    throw new UsageError(`--env must be "test" or "live", not ${quoted(value)}`)
  }
  return value
}

/** Checks that `value` looks like an API key id (`apimw_<env>_<id>`), without a store lookup. */
export function keyId(value: string): string {
  if (keyEnvironment(value) === undefined) {
    throw new UsageError(`${quoted(value)} is not an API key (apimw_test_… or apimw_live_…)`)
  }
  return value
}

/** Allowlist entries: each `--allow-ip` may hold several, separated by commas. */
export function allowedIps(values: readonly string[]): string[] {
  const entries = values.flatMap((value) => value.split(',')).map((entry) => entry.trim())
  for (const entry of entries) {
    try {
      parseAllowedIp(entry)
    } catch {
      throw new UsageError(`--allow-ip: ${quoted(entry)} is not an IP address or CIDR range`)
    }
  }
  return [...new Set(entries)]
}

/** Scopes: each `--scopes` holds a space-separated list. */
export function scopes(values: readonly string[]): string[] {
  return [...new Set(values.flatMap((value) => value.split(/\s+/)).filter((scope) => scope !== ''))]
}
