// Starting `dgp` commands as real child processes, for the deployment demo and its tests: their
// output is collected, a line can be waited for, and every process is stopped on the way out.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DGP_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dgp.js');

export interface DgpProcess {
  name: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Resolves with the first match of `pattern` in stderr or stdout; rejects if the process exits first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): void;
}

export function startDgp(name: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): DgpProcess {
  const child = spawn(process.execPath, [DGP_BIN, ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    listeners.forEach((l) => l());
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    listeners.forEach((l) => l());
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let gone = false;
  void exited.then(() => {
    gone = true;
    listeners.forEach((l) => l());
  });
  return {
    name,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${name}: no ${pattern} within ${timeoutMs / 1000} s\n${tail(err + out)}`)), timeoutMs);
        const check = () => {
          const m = (err + out).match(pattern);
          if (m) done(null, m);
          else if (gone) done(new Error(`${name} exited before printing ${pattern}\n${tail(err + out)}`));
        };
        const done = (e: Error | null, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (e) reject(e);
          else resolve(m!);
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal = 'SIGTERM') {
      if (!gone) child.kill(signal);
    },
  };
}

/** The last lines of a process's output, for an error message. */
export function tail(text: string, lines = 15): string {
  return text.split('\n').filter((l) => !l.startsWith('npm warn')).slice(-lines).join('\n');
}

/** Kills whatever is still running (a failing test or demo must not leave servers behind). */
export async function stopAll(procs: readonly DgpProcess[]): Promise<void> {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}
