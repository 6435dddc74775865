#!/usr/bin/env node
// One benchmark run in its own process, the SAME code for every library:
//   node bench/client.mjs <lib> <scenario> <N> <port> [--token-url URL] [--attachment PATH] [--style callback]
// <lib> is `nodemailer`, `mailer-rs` or a path to a module exporting `createTransport`.
// Prints exactly one JSON line on stdout. Exit codes: 0 ran (see sent/failed), 3 skipped (library
// or feature unavailable; `skipped` says why), 2 usage error, 1 harness failure.
// The clock runs from the first send to the last settlement (module loading and process start-up
// are outside it; the caller measures the whole process with /usr/bin/time).
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from './lib/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);


const LIBS = {
  nodemailer: path.join(root, 'node_modules', 'nodemailer'),
  'mailer-rs': root,
};

function out(obj, code) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(code);
}

function errInfo(err) {
  // Only code/command/responseCode and the first line of the message: enough to diagnose, and
  // nothing that could carry a token (the harness uses fake credentials anyway).
  if (!err) return null;
  return {
    code: err.code || null,
    command: err.command || null,
    responseCode: err.responseCode || null,
    message: String(err.message || err).split('\n')[0].slice(0, 200),
  };
}

function parseArgs(argv) {
  const [lib, scenario, n, port, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i += 2) {
    if (!rest[i].startsWith('--') || rest[i + 1] === undefined) return null;
    opts[rest[i].slice(2)] = rest[i + 1];
  }
  const s = Number(scenario);
  const count = Number(n);
  if (!lib || !SCENARIOS[s] || !Number.isInteger(count) || count < 1) return null;
  if (s !== 7 && !(Number(port) > 0)) return null;
  return { lib, scenario: s, n: count, port: Number(port), ...opts };
}

function message(i) {
  return {
    from: 'bench@example.com',
    to: 'sink@example.com',
    subject: `bench ${i}`,
    text: `Benchmark message body number ${String(i).padStart(6, '0')}.\n`, // ~40 bytes
  };
}

function transportOptions(a) {
  const base = { host: '127.0.0.1', port: a.port, secure: false, ignoreTLS: true };
  const pool = { ...base, pool: true, maxConnections: 5 };
  switch (a.scenario) {
    case 1:
    case 6:
      return base;
    case 2:
    case 4:
      return pool;
    case 3:
      return { ...pool, maxMessages: Infinity };
    case 5:
      return {
        ...pool,
        auth: {
          type: 'OAuth2',
          user: 'bench@example.com',
          clientId: 'bench-client',
          clientSecret: 'bench-secret',
          refreshToken: 'bench-refresh',
          accessToken: 'expired-access-token',
          expires: Date.now() - 60_000, // expired: the first AUTH needs a refreshed token
          accessUrl: a['token-url'],
        },
      };
    case 7:
      return { streamTransport: true, buffer: true };
    default:
      throw new Error(`unknown scenario ${a.scenario}`);
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (!a) {
    process.stderr.write('usage: node bench/client.mjs <nodemailer|mailer-rs|path> <1-7> <N> <port> [--token-url URL] [--attachment PATH]\n');
    process.exit(2);
  }
  const base = { lib: a.lib, scenario: a.scenario, n: a.n };
  if (a.scenario === 5 && !a['token-url']) out({ ...base, error: 'scenario 5 needs --token-url' }, 2);
  if (a.scenario === 6 && !a.attachment) out({ ...base, error: 'scenario 6 needs --attachment' }, 2);

  let lib;
  let version = null;
  const modPath = LIBS[a.lib] || path.resolve(a.lib);
  try {
    lib = require(modPath);
    if (typeof lib.createTransport !== 'function') lib = lib.default;
    if (!lib || typeof lib.createTransport !== 'function') throw new Error('module has no createTransport');
    try {
      version = require(path.join(modPath, 'package.json')).version;
    } catch {
      version = null;
    }
  } catch (err) {
    out({ ...base, skipped: `cannot load ${a.lib}: ${String(err.message).split('\n')[0]}` }, 3);
  }

  let transporter;
  try {
    transporter = lib.createTransport(transportOptions(a));
  } catch (err) {
    out({ ...base, version, skipped: `createTransport failed: ${errInfo(err).message}` }, 3);
  }

  const attachment = a.scenario === 4 ? randomBytes(1 << 20) : null; // one Buffer shared by all messages
  const mail = (i) => {
    const m = message(i);
    if (a.scenario === 4) m.attachments = [{ filename: 'data.bin', content: attachment }];
    if (a.scenario === 6) m.attachments = [{ filename: 'big.bin', path: a.attachment }];
    if (a.scenario === 7) m.html = `<p>Benchmark message body number <b>${i}</b>.</p>`;
    return m;
  };

  let sent = 0;
  let failed = 0;
  let firstError = null;
  let bytes = 0;
  let checked = a.scenario !== 7;
  const settle = (p) =>
    p.then(
      (info) => {
        sent++;
        if (a.scenario === 7) {
          const buf = info && info.message;
          const len = buf ? buf.length : 0;
          bytes += len;
          // Cheap proof the output is a message and not an empty buffer.
          if (!checked && len > 0) checked = /^Subject: bench \d+\r?$/m.test(buf.toString('latin1'));
        }
      },
      (err) => {
        failed++;
        if (!firstError) firstError = errInfo(err);
      }
    );

  // RSS sampling: scenario 6 reports the peak growth over the idle RSS measured just before sending.
  global.gc?.();
  const rssIdle = process.memoryUsage.rss();
  let rssPeak = rssIdle;
  const sampler = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > rssPeak) rssPeak = r;
  }, 20);

  // `--style callback`: sendMail(mail, callback) instead of its promise (the callback path of
  // the library; the harness still holds one promise per send)
  const send =
    a.style === 'callback'
      ? (m) => new Promise((resolve, reject) => transporter.sendMail(m, (err, info) => (err ? reject(err) : resolve(info))))
      : (m) => transporter.sendMail(m);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (a.scenario === 1 || a.scenario === 6) {
    for (let i = 0; i < a.n; i++) await settle(send(mail(i)));
  } else {
    const all = new Array(a.n);
    for (let i = 0; i < a.n; i++) all[i] = settle(send(mail(i)));
    await Promise.all(all);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const r = process.memoryUsage.rss();
  if (r > rssPeak) rssPeak = r;

  try {
    transporter.close?.();
  } catch {
    // closing is not measured; a failure here must not hide the results
  }
  if (a.scenario === 7 && sent === 0) {
    // A library that accepts `streamTransport` but still sends over SMTP (or rejects it per message)
    // does not implement composition-only mode: report it as skipped, not as a throughput figure.
    out({ ...base, version, skipped: `streamTransport not supported: every sendMail failed (${firstError ? `${firstError.code} ${firstError.message}` : '?'})` }, 3);
  }
  const cpuMs = (cpu.user + cpu.system) / 1000;
  out(
    {
      ...base,
      version,
      sent,
      failed,
      firstError,
      ms: Math.round(ms * 10) / 10,
      msgsPerSec: Math.round((a.n / ms) * 1000 * 10) / 10,
      cpuMs: Math.round(cpuMs * 10) / 10,
      cpuMsPerMsg: Math.round((cpuMs / a.n) * 10000) / 10000,
      rssIdleKB: Math.round(rssIdle / 1024),
      rssPeakKB: Math.round(rssPeak / 1024),
      rssGrowthKB: Math.round((rssPeak - rssIdle) / 1024),
      maxRssKB: process.resourceUsage().maxRSS,
      ...(a.scenario === 7 ? { bytes, outputChecked: checked } : {}),
    },
    0
  );
}

main().catch((err) => out({ error: errInfo(err) }, 1));
