#!/usr/bin/env node
// Soak test (issue 7, run by hand): N messages through a pool against a server that kills random
// connections, then an exact account of every message.
//   node bench/soak.mjs [--lib mailer-rs|nodemailer|PATH] [--n 20000] [--window 1000]
//                       [--p-mail 0.005] [--p-dot 0.002] [--seed S] [--timeout 600] [--json FILE]
// Invariants checked (exit code 1 when one breaks):
//   unaccounted = N - resolved - rejected = 0      (every promise settles before the deadline)
//   lost        = resolved but never acknowledged by the server = 0
//   duplicates  = acknowledged more than once, not explained by a drop after the final dot = 0
// Reported separately: drops after the final dot and how many of those the client delivered again
// (a retry after an unacknowledged DATA is a duplicate the sender cannot avoid without DSN/IDs).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ROOT } from './lib/common.mjs';

const require = createRequire(import.meta.url);

function parse(argv) {
  const o = { lib: 'mailer-rs', n: 20000, window: 1000, 'p-mail': 0.005, 'p-dot': 0.002, seed: Date.now() % 1e9, timeout: 600, json: null };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o) || argv[i + 1] === undefined) throw new Error(`unknown or incomplete argument ${argv[i]}`);
    o[k] = typeof o[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return o;
}

/** Pure accounting, exported for the unit tests. */
export function account({ n, resolved, rejected, accepted, droppedAfterDot }) {
  const acc = new Map(accepted);
  const dropped = new Map(droppedAfterDot);
  let lost = 0;
  for (const id of resolved) if (!acc.has(id)) lost++;
  let duplicates = 0;
  let dupAfterDrop = 0;
  let acceptedButRejected = 0;
  for (const [id, count] of acc) {
    const drops = dropped.get(id) || 0;
    if (drops > 0) {
      // Received once before the cut (not acknowledged) and `count` times after: every acknowledged
      // copy is a duplicate of the dropped one.
      dupAfterDrop += count;
      duplicates += Math.max(0, count - 1);
    } else if (count > 1) duplicates += count - 1;
    if (rejected.has(id)) acceptedButRejected++;
  }
  const unaccounted = n - resolved.size - rejected.size;
  return {
    n,
    resolved: resolved.size,
    rejected: rejected.size,
    unaccounted,
    serverAcceptedUnique: acc.size,
    serverAcceptedTotal: [...acc.values()].reduce((a, b) => a + b, 0),
    droppedAfterDot: [...dropped.values()].reduce((a, b) => a + b, 0),
    deliveredAgainAfterDrop: dupAfterDrop,
    duplicates,
    lost,
    acceptedButRejected,
    ok: unaccounted === 0 && lost === 0 && duplicates === 0,
  };
}

async function main() {
  const o = parse(process.argv.slice(2));
  const target = o.lib === 'nodemailer' ? path.join(ROOT, 'node_modules', 'nodemailer') : o.lib === 'mailer-rs' ? ROOT : path.resolve(o.lib);
  let lib;
  try {
    lib = require(target);
    if (typeof lib.createTransport !== 'function') lib = lib.default;
  } catch (err) {
    console.log(`SKIP ${o.lib}: cannot be loaded (${String(err.message).split('\n')[0]})`);
    process.exit(3);
  }

  const server = fork(path.join(BENCH_DIR, 'soak-server.mjs'), ['--p-mail', String(o['p-mail']), '--p-dot', String(o['p-dot']), '--seed', String(o.seed)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killServer = () => {
    if (server.exitCode === null) server.kill('SIGTERM');
  };
  process.on('exit', killServer);
  const ready = await new Promise((resolve, reject) => {
    server.once('message', resolve);
    server.once('exit', (c) => reject(new Error(`soak server exited (${c})`)));
  });
  console.log(`soak: ${o.lib}, N=${o.n}, window ${o.window}, p(kill at MAIL)=${o['p-mail']}, p(kill after dot)=${o['p-dot']}, seed ${o.seed}, port ${ready.port}`);

  const transporter = lib.createTransport({
    host: '127.0.0.1',
    port: ready.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 5,
    // Bounded: a hung socket must turn into a rejection well before the soak's deadline.
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 20000,
  });

  const resolved = new Set();
  const rejected = new Set();
  const codes = {};
  const deadline = Date.now() + o.timeout * 1000;
  const t0 = Date.now();
  let next = 0;
  let inFlight = 0;
  let timedOut = false;
  await new Promise((done) => {
    const pump = () => {
      if (Date.now() > deadline) {
        timedOut = true;
        return done();
      }
      while (inFlight < o.window && next < o.n) {
        const id = next++;
        inFlight++;
        transporter
          .sendMail({ from: 'soak@example.com', to: 'sink@example.com', subject: `soak ${id}`, text: `Soak message ${id}.\n` })
          .then(
            () => resolved.add(id),
            (err) => {
              rejected.add(id);
              const c = (err && err.code) || 'none';
              codes[c] = (codes[c] || 0) + 1;
            }
          )
          .finally(() => {
            inFlight--;
            pump();
          });
      }
      if (next >= o.n && inFlight === 0) done();
    };
    pump();
    // The deadline also has to fire when nothing settles any more.
    const timer = setInterval(() => {
      if (Date.now() > deadline) {
        clearInterval(timer);
        timedOut = true;
        done();
      } else if (next >= o.n && inFlight === 0) clearInterval(timer);
    }, 1000);
  });
  const seconds = (Date.now() - t0) / 1000;
  // Let the server finish writing any reply it was sending, then read its counters.
  await new Promise((r) => setTimeout(r, 500));
  const srv = await new Promise((resolve) => {
    server.on('message', (m) => m.type === 'stats' && resolve(m));
    server.send({ type: 'stats' });
  });
  try {
    transporter.close?.();
  } catch {
    // closing is not part of the check
  }
  killServer();

  const result = { lib: o.lib, seed: o.seed, seconds, timedOut, rejectedCodes: codes, server: srv.stats, ...account({ n: o.n, resolved, rejected, accepted: srv.accepted, droppedAfterDot: srv.droppedAfterDot }) };
  console.log(
    [
      `sent ${result.n} in ${seconds.toFixed(1)} s${timedOut ? ' (DEADLINE HIT)' : ''}: resolved ${result.resolved}, rejected ${result.rejected} ${JSON.stringify(codes)}, unaccounted ${result.unaccounted}`,
      `server: ${srv.stats.connections} connections, killed ${srv.stats.killedAtMail} at MAIL and ${srv.stats.killedAfterDot} after the final dot; acknowledged ${result.serverAcceptedUnique} unique / ${result.serverAcceptedTotal} total`,
      `lost (resolved, never acknowledged) ${result.lost}; duplicates ${result.duplicates}; delivered again after a drop after the dot ${result.deliveredAgainAfterDrop} (of ${result.droppedAfterDot} drops); acknowledged but rejected ${result.acceptedButRejected}`,
      // Not an invariant, but a pool of 5 should need about 5 connections plus one per kill.
      ...(srv.stats.connections > 5 + 2 * (srv.stats.killedAtMail + srv.stats.killedAfterDot) + o.n / 100
        ? [`WARNING: ${srv.stats.connections} connections for ${o.n} messages: the pool does not reuse its connections`]
        : []),
      result.ok ? 'SOAK OK' : 'SOAK FAILED',
    ].join('\n')
  );
  if (o.json) writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(BENCH_DIR, 'soak.mjs')) {
  main().catch((err) => {
    console.error(`soak failed: ${err.stack || err}`);
    process.exit(1);
  });
}
