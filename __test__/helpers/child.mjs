// Child Node processes for tests that must watch a whole process (exit by itself, crash,
// GC, worker threads, environment). One runner, so every such test collects output and
// enforces its deadline the same way.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: children import `./index.mjs` / `./index.js` from there. */
export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Runs `node ...args` in ROOT and resolves with `{ code, signal, out, err, ms }` once it
 * exits; killed with SIGKILL after `timeoutMs`. `env` is added to this process's environment;
 * `talk(child)`, if given, is called once the child is spawned (to exchange with it on stdio).
 */
export function runNode(args, { timeoutMs = 20_000, env, talk } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: env ? { ...process.env, ...env } : process.env });
    if (talk) talk(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const started = Date.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, ms: Date.now() - started });
    });
  });
}

/** Runs `code` as an ES module (`node [flags] --input-type=module -e code`). */
export function runModule(code, { flags = [], ...opts } = {}) {
  return runNode([...flags, '--input-type=module', '-e', code], opts);
}
