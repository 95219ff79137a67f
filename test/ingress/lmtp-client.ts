/**
 * A raw-socket LMTP client for the LMTP tests: it counts replies (a
 * multi-line reply is one), so a test sees exactly how many the server sent;
 * replies are awaited, never slept for.
 */
import { connect, type Socket } from 'node:net';

export interface ClientOptions {
  /** Source address (any 127.0.0.0/8 address works on Linux loopback): a test's "other client". */
  localAddress?: string;
}

export class LmtpClient {
  private buffer = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  /** Resolves when the server (or the test) closed the connection. */
  readonly closedEvent: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      let eol: number;
      while ((eol = this.buffer.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, eol));
        this.buffer = this.buffer.slice(eol + 2);
      }
      this.wake?.();
    });
    // A reset from a server that closed the connection is a close like any other here.
    socket.on('error', () => undefined);
    this.closedEvent = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  /** Connected, greeting not read yet. */
  static async connect(port: number, options: ClientOptions = {}): Promise<LmtpClient> {
    const socket = connect({ port, host: '127.0.0.1', ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new LmtpClient(socket);
  }

  /** Connected and greeted with 220 (throws with the greeting otherwise). */
  static async open(port: number, options: ClientOptions = {}): Promise<LmtpClient> {
    const client = await LmtpClient.connect(port, options);
    const [greeting] = await client.replies(1);
    if (!greeting!.startsWith('220')) throw new Error(`not greeted: ${greeting}`);
    return client;
  }

  /** The next `count` complete replies (multi-line replies joined). */
  async replies(count: number): Promise<string[]> {
    const out: string[] = [];
    let current: string[] = [];
    while (out.length < count) {
      while (this.lines.length === 0) {
        if (this.closed) throw new Error(`connection closed after ${JSON.stringify(out)}`);
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      const line = this.lines.shift()!;
      current.push(line);
      if (line[3] !== '-') {
        out.push(current.join('\n'));
        current = [];
      }
    }
    return out;
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Write and wait until the kernel took it (backpressure: the server reads as fast as it can). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }
}
