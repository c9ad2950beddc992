/**
 * Process faults for the tests: stop (SIGSTOP), continue, kill and restart
 * exactly one daemon a service script started, through that script's
 * `signal` and `restart` commands (test/services/lib.sh). Used only by the
 * tests under test/process-faults, which run one file at a time after the
 * rest of the suite (vitest.process-faults.config.ts), so no other test ever
 * sees a daemon stopped.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A daemon, as its script names it: `ceph` `rgw`, `swift` `proxy`, `swift` `object`, `cinder` `volume`... */
export interface Daemon {
  service: string;
  name: string;
}

async function script(d: Daemon, ...args: string[]): Promise<void> {
  try {
    await run('bash', [`test/services/${d.service}.sh`, ...args], { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`test/services/${d.service}.sh ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

export const pause = (d: Daemon) => script(d, 'signal', d.name, 'STOP');
export const resume = (d: Daemon) => script(d, 'signal', d.name, 'CONT');
export const kill = (d: Daemon) => script(d, 'signal', d.name, 'KILL');
/** Starts the daemon again (killing it first if it still runs) and waits until it answers. */
export const restart = (d: Daemon) => script(d, 'restart', d.name);

/**
 * Runs `body` and, whatever it does, leaves the daemon running again
 * (continued, or restarted if it was killed), so a failing test never leaves
 * the next one a stopped backend.
 */
export async function withFault<T>(d: Daemon, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await resume(d).catch(() => restart(d));
  }
}
