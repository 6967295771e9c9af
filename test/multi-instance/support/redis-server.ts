import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'

/** A `redis-server` this test owns, on its own port, that it can kill and start again. */
export interface OwnedRedis {
  port: number
  url: string
  /** Starts the server (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>
  /** Kills the server (SIGKILL: a crash, not a shutdown); resolves once it has exited. */
  kill(): Promise<void>
  /** Kills it if running and removes its directory. */
  dispose(): Promise<void>
}

/**
 * Prepares a server on a free port (not started). No automatic snapshots and no AOF; the data
 * directory is a temporary one, so an explicit `SAVE` survives a restart like a persistent Redis.
 */
export async function ownedRedis(): Promise<OwnedRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'apimw-redis-'))
  let child: ChildProcess | undefined

  const kill = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly']
      args.push('no', '--daemonize', 'no', '--dir', dir, '--dbfilename', 'dump.rdb')
      const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      child = started
      await new Promise<void>((resolve, reject) => {
        let output = ''
        const timer = setTimeout(() => fail(new Error('redis-server did not start')), 10_000)
        const fail = (error: Error) => {
          clearTimeout(timer)
          reject(new Error(`${error.message}\n${output}`))
        }
        started.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes('Ready to accept connections')) {
            clearTimeout(timer)
            resolve()
          }
        })
        started.stderr?.on('data', (chunk: Buffer) => {
          output += chunk.toString()
        })
        started.once('error', fail)
        started.once('exit', (code) => fail(new Error(`redis-server exited with ${code}`)))
      })
    },
    kill,
    async dispose() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
