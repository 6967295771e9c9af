import { createHash } from 'node:crypto'
import type { RedisClient } from './options.js'

/** A Lua script, sent once per connection by `EVALSHA` with an `EVAL` fallback. */
export interface LuaScript {
  source: string
  sha1: string
}

export function defineScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') }
}

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT')

/**
 * Runs `script` atomically: Redis executes a script without running any other command meanwhile,
 * which is what makes each multi-key step of the store indivisible across processes.
 */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  try {
    return await client.call('EVALSHA', script.sha1, keys.length, ...keys, ...args)
  } catch (error) {
    if (!isNoScript(error)) throw error
    return client.call('EVAL', script.source, keys.length, ...keys, ...args)
  }
}
