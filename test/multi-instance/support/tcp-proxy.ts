import type { Server, Socket } from 'node:net'
import { connect, createServer } from 'node:net'

/**
 * A TCP proxy to `target` on a port of its own: stopping it drops every connection and refuses new
 * ones, as a server that went away would; starting it again on the same port brings it back.
 */
export interface TcpProxy {
  port: number
  start(): Promise<void>
  /** Closes the listener and destroys every open connection. */
  stop(): Promise<void>
}

export function tcpProxy(port: number, target: { host: string; port: number }): TcpProxy {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  return {
    port,
    start: () =>
      new Promise((resolve, reject) => {
        const listening = createServer((downstream) => {
          const upstream = connect(target.port, target.host)
          track(downstream)
          track(upstream)
          downstream.pipe(upstream)
          upstream.pipe(downstream)
          downstream.on('close', () => upstream.destroy())
          upstream.on('close', () => downstream.destroy())
        })
        listening.once('error', reject)
        listening.listen(port, '127.0.0.1', () => {
          server = listening
          resolve()
        })
      }),
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        sockets.clear()
        if (!server) return resolve()
        server.close(() => resolve())
        server = undefined
      }),
  }
}
