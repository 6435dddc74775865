// mailer-rs in worker threads when the main thread never loads it (job runners such as piscina,
// vitest's `pool: 'threads'`): workers that load it one after another, at the same time, and
// that are terminated in the middle of sends. Each scenario runs in a child process whose main
// thread only starts workers; the SMTP server runs here. A crash shows as a signal, a hang as
// the child being killed by its timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startSmtpServer } from './helpers/smtp.mjs';
import { ROOT, runNode } from './helpers/child.mjs';


// The worker: loads the addon, sends `count` messages in `mode` and reports each outcome.
// `hold` leaves them in flight (the parent terminates the worker).
const WORKER = `
const { parentPort, workerData: d } = require('node:worker_threads');
const { createTransport } = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
const opts = { host: '127.0.0.1', port: d.port };
if (d.mode === 'pool') Object.assign(opts, { pool: true, maxConnections: 3 });
if (d.mode === 'json') Object.assign(opts, { jsonTransport: true });
if (d.oauth) {
  opts.auth = {
    type: 'OAuth2',
    user: 'user@example.com',
    // answers after a while, so that terminate() can come while it is being asked
    provisionCallback: (user, renew, cb) => setTimeout(() => cb(null, 'tok-w', Date.now() + 3600e3), 20),
  };
}
const t = createTransport(opts);
t.on('token', () => {});
let ok = 0;
let failed = 0;
const sends = [];
for (let i = 0; i < d.count; i++) {
  sends.push(
    t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'w' + i, text: 'x' }).then(
      () => { ok++; parentPort.postMessage({ progress: ok }); },
      (e) => { failed++; parentPort.postMessage({ error: e.code + ' ' + e.message }); }
    )
  );
}
Promise.all(sends).then(() => {
  t.close();
  parentPort.postMessage({ done: true, ok, failed });
});
`;

// The child's main thread: runs the scenario's workers and prints a JSON summary.
const MAIN = (port, scenario) => `
const { Worker } = require('node:worker_threads');
const WORKER = ${JSON.stringify(WORKER)};
const port = ${port};
function run(data, { terminateAfter } = {}) {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { port, ...data } });
    const r = { ok: 0, failed: 0, errors: [], terminated: false };
    w.on('message', (m) => {
      if (m.error) r.errors.push(m.error);
      if (m.done) Object.assign(r, { ok: m.ok, failed: m.failed });
      if (m.progress && terminateAfter !== undefined && m.progress >= terminateAfter && !r.terminated) {
        r.terminated = true;
        w.terminate();
      }
    });
    w.on('error', reject);
    w.on('exit', () => resolve(r));
    if (terminateAfter === 0) setTimeout(() => { r.terminated = true; w.terminate(); }, 30);
  });
}
const scenario = ${JSON.stringify(scenario)};
(async () => {
  const out = [];
  if (scenario === 'sequential') {
    for (let i = 0; i < 3; i++) out.push(await run({ mode: 'single', count: 2 }));
  } else if (scenario === 'concurrent') {
    for (let round = 0; round < 2; round++) {
      const rs = await Promise.all([
        run({ mode: 'pool', count: 40 }),
        run({ mode: 'pool', count: 40 }),
        run({ mode: 'json', count: 40 }),
        run({ mode: 'json', count: 40 }),
      ]);
      out.push(...rs);
    }
  } else {
    const oauth = scenario === 'terminate-oauth';
    // terminated while 500 pooled sends are queued and in flight, then while single sends are
    out.push(await run({ mode: 'pool', count: 500, oauth }, { terminateAfter: 20 }));
    out.push(await run({ mode: 'single', count: 10, oauth }, { terminateAfter: 0 }));
    out.push(await run({ mode: 'pool', count: 500, oauth }, { terminateAfter: 0 }));
    // the next worker sends fine
    out.push(await run({ mode: 'pool', count: 20, oauth }));
    out.push(await run({ mode: 'single', count: 2, oauth }));
  }
  console.log(JSON.stringify(out));
})();
`;

// the child never loads the addon on its main thread: only its workers do
const runMain = (port, scenario) => runNode(['-e', MAIN(port, scenario)], { timeoutMs: 60_000 });

async function scenario(name, check) {
  const srv = await startSmtpServer({ xoauth2: true, validTokens: new Set(['tok-w']), hideSTARTTLS: true, authOptional: true, closeTimeout: 50 });
  try {
    const r = await runMain(srv.port, name);
    assert.equal(r.signal, null, `child died by ${r.signal} (SIGKILL: hung past the timeout): ${r.err}`);
    assert.equal(r.code, 0, r.err);
    check(JSON.parse(r.out.trim().split('\n').pop()), srv);
  } finally {
    await srv.close();
  }
}

test('(a) three workers one after another each load, send and exit', async () => {
  await scenario('sequential', (results, srv) => {
    assert.equal(results.length, 3);
    for (const r of results) assert.deepEqual([r.ok, r.failed, r.errors], [2, 0, []]);
    assert.equal(srv.messages.length, 6);
  });
});

test('(b) four concurrent workers (pooled and json), twice', async () => {
  await scenario('concurrent', (results, srv) => {
    assert.equal(results.length, 8);
    for (const r of results) assert.deepEqual([r.ok, r.failed, r.errors], [40, 0, []]);
    assert.equal(srv.messages.length, 4 * 40);
  });
});

function checkTerminated(results) {
  assert.equal(results.length, 5);
  for (const r of results.slice(0, 3)) assert.equal(r.terminated, true);
  // the workers after the terminated ones send everything
  assert.deepEqual([results[3].ok, results[3].failed, results[3].errors], [20, 0, []]);
  assert.deepEqual([results[4].ok, results[4].failed, results[4].errors], [2, 0, []]);
}

test('(c) workers terminated in the middle of pooled and single sends; the next worker sends fine', async () => {
  await scenario('terminate', checkTerminated);
});

test('(d) the same with OAuth2 and a provisioning callback', async () => {
  await scenario('terminate-oauth', checkTerminated);
});
