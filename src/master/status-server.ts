/**
 * The master's control socket, `<home>/master.sock` (mode 0660): one JSON
 * line in, one JSON line out (see protocol.ts). Data only: an unknown or
 * malformed request gets `{"error": ...}` and the connection is closed.
 */
import { SwitchyardError } from '../errors.js';
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import type { RestartReply, StatusReport, StatusRequest } from './protocol.js';

const MAX_REQUEST_BYTES = 4096;
/** sun_path holds 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export class SocketPathTooLongError extends SwitchyardError {
  constructor(readonly socketPath: string) {
    super('SY_SOCKET_PATH', `the control socket ${socketPath} is ${Buffer.byteLength(socketPath)} bytes long; unix sockets allow ${MAX_SOCKET_PATH_BYTES}: use a shorter home directory`);
  }
}

export class StatusServer {
  private readonly server: Server;
  private readonly watchers = new Set<Socket>();

  constructor(
    private readonly socketPath: string,
    private readonly report: () => Promise<StatusReport>,
    /** `restart`: validate the configuration, then restart every runner, or refuse (see master.ts). */
    private readonly restart: () => Promise<RestartReply> = async () => ({ ok: false, refused: 'this master cannot restart its runners on request' }),
  ) {
    this.server = createServer((socket) => this.serve(socket));
  }

  async listen(): Promise<void> {
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new SocketPathTooLongError(this.socketPath);
    }
    // The lock guarantees no live master owns this path: a leftover socket is stale.
    await unlink(this.socketPath).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.socketPath, 0o660);
  }

  /** Stop listening and end every connection (which tells `stop` the master is gone). */
  async close(): Promise<void> {
    for (const socket of this.watchers) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.socketPath).catch(() => undefined);
  }

  private serve(socket: Socket): void {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) {
        if (buffer.length > MAX_REQUEST_BYTES) this.reply(socket, { error: 'request too long' }, true);
        return;
      }
      socket.removeAllListeners('data');
      void this.answer(socket, buffer.slice(0, newline));
    });
  }

  private async answer(socket: Socket, line: string): Promise<void> {
    let request: Partial<StatusRequest>;
    try {
      request = JSON.parse(line) as Partial<StatusRequest>;
    } catch {
      this.reply(socket, { error: 'request is not JSON' }, true);
      return;
    }
    if (request.command === 'status') {
      try {
        this.reply(socket, await this.report(), true);
      } catch (error) {
        this.reply(socket, { error: (error as Error).message }, true);
      }
    } else if (request.command === 'restart') {
      try {
        this.reply(socket, await this.restart(), true);
      } catch (error) {
        this.reply(socket, { error: (error as Error).message }, true);
      }
    } else if (request.command === 'watch') {
      this.watchers.add(socket);
      socket.on('close', () => this.watchers.delete(socket));
      this.reply(socket, { ok: true }, false);
    } else {
      this.reply(socket, { error: `unknown command ${JSON.stringify(request.command)}` }, true);
    }
  }

  private reply(socket: Socket, body: unknown, end: boolean): void {
    const line = `${JSON.stringify(body)}\n`;
    if (end) socket.end(line);
    else socket.write(line);
  }
}
