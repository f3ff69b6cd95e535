/** A peer process of a local consortium: started detached on its home, its output in `<home>/peer.log`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NodeError } from '../errors.js';
import { checkInterrupted, getJson, isInterrupted, logTail, portsInUse, sleep, stopPid } from './processes.js';

const PEER_READY_MS = 60_000;

/** Starts (or restarts) one peer process on its home; its output goes to `<home>/peer.log`. */
export function startPeerProcess(cli: string, home: string, port: number): number {
  return spawnPeer(cli, home, port).pid!;
}

function spawnPeer(cli: string, home: string, port: number): ChildProcess {
  const logFd = openSync(join(home, 'peer.log'), 'a');
  const p: ChildProcess = spawn(process.execPath, [cli, 'node', 'start', '--home', home, '--port', String(port)], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: peerEnv(),
  });
  closeSync(logFd);
  p.unref();
  return p;
}

/** The environment of a peer process: the launcher's, without what would override the peer's home. */
function peerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['CUSTOS_PASSPHRASE', 'CUSTOS_HOME', 'PORT', 'HOST']) delete env[k];
  return env;
}

/**
 * Starts a peer and waits until it answers /readyz. If the process exits first, or is not ready in
 * time (then it is stopped), throws NOT_READY with the end of its log: no process is left behind.
 */
export async function startPeerAndWait(
  cli: string,
  org: string,
  home: string,
  url: string,
  timeoutMs = PEER_READY_MS,
): Promise<number> {
  const port = Number(new URL(url).port);
  const inUse = await portsInUse([port]);
  if (inUse.length > 0) {
    throw new NodeError('BAD_REQUEST', `port ${port} of peer ${org} is in use by another process; stop it first`);
  }
  const logPath = join(home, 'peer.log');
  const from = existsSync(logPath) ? statSync(logPath).size : 0;
  const p = spawnPeer(cli, home, port);
  let exited: string | undefined;
  p.once('exit', (code, signal) => {
    exited = signal ?? `exit code ${code}`;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      throw new NodeError('NOT_READY', `peer ${org} exited (${exited}) before it was ready: ${logTail(logPath, from)}`);
    }
    if ((await getJson(`${url}/readyz`)) !== undefined) return p.pid!;
    if (isInterrupted()) {
      await stopPid(p.pid!, 5000);
      checkInterrupted();
    }
    if (Date.now() > deadline) {
      await stopPid(p.pid!, 5000);
      throw new NodeError(
        'NOT_READY',
        `peer ${org} was not ready within ${timeoutMs / 1000} s and was stopped: ${logTail(logPath, from)}`,
      );
    }
    await sleep(100);
  }
}
