// Shared pieces of the benchmark harness: scenario table, statistics, child processes, ports.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH_DIR, '..');
export const CACHE = path.join(BENCH_DIR, '.cache');

export const SCENARIOS = {
  1: 'sequential, new connection per message',
  2: 'pool 5, all sends at once',
  3: 'pool 5, maxMessages Infinity',
  4: 'pool 5, 1 MB Buffer attachment',
  5: 'pool 5, OAuth2 refresh (expired token)',
  6: 'one large path attachment (RSS growth)',
  7: 'composition only (streamTransport buffer)',
};

// Message counts (scenario 6: attachment size in MB, always one message).
export const SIZES = {
  full: { 1: 2000, 2: 10000, 3: 10000, 4: 200, 5: 2000, 6: 500, 7: 10000 },
  quick: { 1: 200, 2: 1000, 3: 1000, 4: 20, 5: 200, 6: 50, 7: 1000 },
};

// Scenarios compared with smtp-source's ceiling (plain small messages to smtp-sink).
export const CEILING_SCENARIOS = new Set([1, 2, 3]);

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** a / b rounded to 3 decimals, or null when either side is missing or b is 0. */
export function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/** A free loopback TCP port (bound then released; the window for a race is tiny on a bench box). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs bench/setup.sh (idempotent) and returns the extracted postfix tree. */
export function postfixTools() {
  const dir = execFileSync('sh', [path.join(BENCH_DIR, 'setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .pop();
  const tools = {
    dir,
    sink: path.join(dir, 'usr/sbin/smtp-sink'),
    source: path.join(dir, 'usr/sbin/smtp-source'),
    env: { ...process.env, LD_LIBRARY_PATH: path.join(dir, 'usr/lib/postfix') },
  };
  if (!existsSync(tools.sink) || !existsSync(tools.source)) throw new Error(`smtp-sink/smtp-source not found under ${dir}`);
  return tools;
}

/** Child processes we started, killed on exit so no server outlives the harness. */
const children = new Set();
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
/** Signals a child and, when it leads its own process group (spawned detached), the whole group. */
export function killTree(child, signal = 'SIGTERM') {
  try {
    // /usr/bin/time does not pass signals on to the command it runs: kill the group.
    if (child.detachedGroup) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // already gone
  }
}
export function killAll() {
  for (const c of children) killTree(c);
}
let hooked = false;
export function killOnExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

export async function startSmtpSink(tools) {
  const port = await freePort();
  // -u nobody: smtp-sink refuses to run as root without a user to drop to. 1024: listen backlog.
  const child = track(spawn(tools.sink, ['-u', 'nobody', `127.0.0.1:${port}`, '1024'], { env: tools.env, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`smtp-sink exited (${code}): ${stderr.trim()}`))));
  exited.catch(() => {});
  await Promise.race([waitPort(port), exited]);
  return { port, child, stop: () => stopChild(child) };
}

export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** Parses `/usr/bin/time -f '%e %U %S %M'` output (the last line; earlier lines are warnings). */
export function parseTime(text) {
  const lines = text.trim().split('\n').filter((l) => /^[\d.]+ [\d.]+ [\d.]+ \d+$/.test(l.trim()));
  if (!lines.length) return null;
  const [wall, user, sys, rss] = lines.pop().trim().split(' ').map(Number);
  return { wallS: wall, userS: user, sysS: sys, maxRssKB: rss };
}

/**
 * Runs a command under /usr/bin/time; resolves { code, stdout, stderr, time } (never rejects on a
 * non-zero exit: the caller decides). `timeoutMs` kills a stuck run.
 */
export function runTimed(cmd, args, { env, timeoutMs = 600000 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const timeFile = path.join(dir, 'time');
  return new Promise((resolve) => {
    const child = track(spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], { env: env || process.env, detached: true }));
    child.detachedGroup = true;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t0 = process.hrtime.bigint();
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let time = null;
      try {
        time = parseTime(readFileSync(timeFile, 'utf8'));
      } catch {
        time = null;
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, time, wallMs });
    });
  });
}

/** The JSON line a client printed (the last line that parses). */
export function lastJson(stdout) {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l);
    } catch {
      // not JSON: keep looking
    }
  }
  return null;
}

export function machineInfo() {
  const cpus = os.cpus();
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0] ? cpus[0].model : null,
    cpus: cpus.length,
    totalMemMB: Math.round(os.totalmem() / 1048576),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirty: status === null ? null : status.length > 0,
  };
}
