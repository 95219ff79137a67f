/**
 * The CLI's side of `<home>/master.sock` (see protocol.ts and
 * status-server.ts): one JSON line out, one JSON line back. No socket file,
 * or nobody listening on it (a master killed outright leaves the file), both
 * mean no master runs: MasterNotRunningError. No permission on the home or
 * the socket: MasterAccessError, saying who we are and who owns them.
 */
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { MasterAccessError, MasterAnswerError, MasterNotRunningError } from './errors.js';
import { explainSocketAccess } from './socket-access.js';
import type { RestartReply, StatusReport, StatusRequest } from './protocol.js';

export { MasterNotRunningError } from './errors.js';

/** Ask the master for its StatusReport. */
export async function requestStatus(socketPath: string, timeoutMs = 5_000): Promise<StatusReport> {
  const socket = await open(socketPath);
  try {
    const answer = firstLine(socket, socketPath, timeoutMs);
    send(socket, { command: 'status' });
    const report = parseAnswer(
      await answer.catch((error: unknown) => {
        throw error instanceof ClosedEarly ? new MasterAnswerError(socketPath, 'closed the connection without answering') : error;
      }),
      socketPath,
    );
    if (typeof report.error === 'string') throw new MasterAnswerError(socketPath, `answered with an error: ${report.error}`);
    if (typeof report.master !== 'object' || !Array.isArray(report.runners)) throw new MasterAnswerError(socketPath, 'answered something that is not a status report');
    return report as unknown as StatusReport;
  } finally {
    socket.destroy();
  }
}

/**
 * Ask the master to restart every runner: it validates switchyard.toml first
 * and refuses an invalid one (RestartReply). A master older than the command
 * answers with an error: MasterAnswerError.
 */
export async function requestRestart(socketPath: string, timeoutMs = 10_000): Promise<RestartReply> {
  const socket = await open(socketPath);
  try {
    const answer = firstLine(socket, socketPath, timeoutMs);
    send(socket, { command: 'restart' });
    const reply = parseAnswer(
      await answer.catch((error: unknown) => {
        throw error instanceof ClosedEarly ? new MasterAnswerError(socketPath, 'closed the connection without answering') : error;
      }),
      socketPath,
    );
    if (typeof reply.error === 'string') throw new MasterAnswerError(socketPath, `answered with an error: ${reply.error}`);
    if (reply.ok === true && typeof reply.runners === 'number') return { ok: true, runners: reply.runners };
    if (reply.ok === false && typeof reply.refused === 'string') return { ok: false, refused: reply.refused };
    throw new MasterAnswerError(socketPath, `answered something that is not a restart reply: ${JSON.stringify(reply).slice(0, 200)}`);
  } finally {
    socket.destroy();
  }
}

/**
 * Resolves when the master exits: it holds `watch` connections open until
 * then, so the close is the exit, learnt without polling.
 */
export async function waitForMasterExit(socketPath: string, timeoutMs = 5_000): Promise<void> {
  await (await watchMaster(socketPath, timeoutMs)).exited;
}

/**
 * Start watching: resolves once the master has accepted the watch, with
 * `exited`, which resolves when it exits. Lets `stop` be watching before it
 * sends TERM, so the exit cannot be missed.
 */
export async function watchMaster(socketPath: string, timeoutMs = 5_000): Promise<{ exited: Promise<void>; close(): void }> {
  const socket = await open(socketPath);
  const exited = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    const answer = firstLine(socket, socketPath, timeoutMs);
    send(socket, { command: 'watch' });
    const reply = parseAnswer(await answer, socketPath);
    if (reply.ok !== true) throw new MasterAnswerError(socketPath, `refused to be watched: ${JSON.stringify(reply)}`);
  } catch (error) {
    // Closed before answering: it was already on its way out, which is what we wait for.
    if (error instanceof ClosedEarly) return { exited, close: () => socket.destroy() };
    socket.destroy();
    throw error;
  }
  socket.resume();
  // close(): stop watching (the caller gave up waiting); `exited` then resolves too.
  return { exited, close: () => socket.destroy() };
}

class ClosedEarly extends Error {}

function open(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      // Errors after connecting surface as 'close', which every caller handles.
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new MasterNotRunningError(dirname(socketPath)));
      else if (error.code === 'EACCES' || error.code === 'EPERM') reject(new MasterAccessError(socketPath, explainSocketAccess(socketPath, error.code), { cause: error }));
      else reject(error);
    });
  });
}

function send(socket: Socket, request: StatusRequest): void {
  socket.write(`${JSON.stringify(request)}\n`);
}

/** The first line the master sends; rejects with ClosedEarly if it closes first. */
function firstLine(socket: Socket, socketPath: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new MasterAnswerError(socketPath, `did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (chunk: string): void => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      cleanup();
      resolve(buffer.slice(0, newline));
    };
    const onClose = (): void => {
      cleanup();
      reject(new ClosedEarly(`${socketPath} closed before answering`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
    };
    socket.setEncoding('utf8');
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function parseAnswer(line: string, socketPath: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: reported below
  }
  throw new MasterAnswerError(socketPath, `answered something that is not JSON: ${line.slice(0, 200)}`);
}
