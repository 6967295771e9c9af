import {
  allowedIps,
  environmentOption,
  scopes,
  stringOption,
  stringsOption,
  wholeNumber,
} from '../arguments.js'
import type { Command } from '../command.js'
import { fields, isoTime, list, printable, shortTime } from '../format.js'
import { UsageError } from '../usage-error.js'

export const keysCreate: Command = {
  words: ['keys', 'create'],
  summary: 'Create an API key and print its secret (shown this once)',
  usage:
    '--name NAME [--env test|live] [--scopes "a b"] [--allow-ip CIDR]... [--expires-in SECONDS]',
  description: [
    'Creates an API key and prints its key id and secret. The secret is shown only here: the store',
    'keeps a hash of it. Store it now, e.g. in your secret manager.',
  ],
  options: {
    name: { type: 'string' },
    env: { type: 'string' },
    scopes: { type: 'string', multiple: true },
    'allow-ip': { type: 'string', multiple: true },
    'expires-in': { type: 'string' },
  },
  optionHelp: [
    ['--name NAME', 'what the key is for (required, 1 to 200 characters)'],
    ['--env test|live', 'the key\'s environment (default: APIMW_ENV, else "test")'],
    ['--scopes "a b"', 'space-separated scopes the key may ask for (repeatable; default: none)'],
    [
      '--allow-ip CIDR',
      'an address or CIDR the key may be used from (repeatable, or comma-separated; default: any)',
    ],
    ['--expires-in SECONDS', 'lifetime of the key (default: no expiry)'],
  ],
  positionals: [],
  prepare(args) {
    const name = stringOption(args, 'name')
    if (name === undefined) throw new UsageError('--name is required')
    if (name.trim() === '' || name.length > 200)
      throw new UsageError('--name must be 1 to 200 characters')
    const env = stringOption(args, 'env')
    const environment = env === undefined ? undefined : environmentOption(env)
    const expires = stringOption(args, 'expires-in')
    const input = {
      name,
      environment,
      scopes: scopes(stringsOption(args, 'scopes')),
      allowedIps: allowedIps(stringsOption(args, 'allow-ip')),
      expiresIn: expires === undefined ? undefined : wholeNumber(expires, '--expires-in', 1),
    }
    return async ({ apimw }) => {
      const { record, secret } = await apimw().keys.create(input)
      return {
        json: {
          key: record.key,
          secret,
          name: record.name,
          environment: record.environment,
          scopes: record.scopes,
          allowedIps: record.allowedIps,
          createdAt: isoTime(record.createdAt),
          expiresAt: isoTime(record.expiresAt),
        },
        text: [
          `Created API key ${quotedName(record.name)} (${record.environment}).`,
          ...fields([
            ['key', record.key],
            ['secret', secret],
            ['scopes', list(record.scopes)],
            ['allowed IPs', record.allowedIps.length === 0 ? 'any' : list(record.allowedIps)],
            ['expires', record.expiresAt === null ? 'never' : shortTime(record.expiresAt)],
          ]),
          'The secret is shown only this once: store it now.',
        ],
      }
    }
  },
}

const quotedName = (name: string): string => `"${printable(name)}"`
