// A process that sends with mailer-rs exits by itself once its work is done, and close()
// leaves no native handle open (what jest --detectOpenHandles reports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtpServer } from './helpers/smtp.mjs';
import { runModule } from './helpers/child.mjs';

const runChild = (code) => runModule(code);

const server = () => startSmtpServer({ xoauth2: true, validTokens: new Set(['tok-l']), hideSTARTTLS: true, authOptional: true, closeTimeout: 50 });

const HEADER = (port) => `
import { createTransport } from './index.mjs';
import net from 'node:net';
const host = '127.0.0.1';
const port = ${port};
const msg = (i) => ({ from: 'a@example.com', to: 'b@example.com', subject: 'm' + i, text: 'x' });
const oauth = { type: 'OAuth2', user: 'user@example.com', provisionCallback: (u, r, cb) => cb(null, 'tok-l', Date.now() + 3600e3) };
// a customAuth mechanism (one command, then done) and a getSocket with a plain net socket
const customAuth = { auth: { user: 'u', pass: 'p', method: 'X-L' }, customAuth: { 'X-L': async (ctx) => { await ctx.sendCommand('NOOP'); } } };
const getSocket = (options, cb) => { const s = net.connect(options.port, host); s.once('connect', () => cb(null, { connection: s })); s.once('error', cb); };
`;

test('the process exits by itself after pooled sends and close(), in every mode', async () => {
  const srv = await server();
  try {
    const cases = {
      'pool + close': `const t = createTransport({ host, port, pool: true });
        await Promise.all(Array.from({ length: 50 }, (_, i) => t.sendMail(msg(i)))); t.close();`,
      'pool + OAuth2 provisioning + token listener + logger + close': `
        const t = createTransport({ host, port, pool: true, auth: oauth, logger: { info() {}, debug() {}, error() {}, warn() {}, trace() {} } });
        t.on('token', () => {}); t.on('idle', () => {});
        await Promise.all(Array.from({ length: 20 }, (_, i) => t.sendMail(msg(i)))); t.close();`,
      'single + OAuth2 provisioning, no close': `const t = createTransport({ host, port, auth: oauth }); t.on('token', () => {});
        await t.sendMail(msg(0)); await t.verify();`,
      'verify + json, no close': `const t = createTransport({ host, port }); await t.verify();
        await createTransport({ jsonTransport: true }).sendMail(msg(0));`,
      'customAuth + getSocket, single, no close': `const t = createTransport({ host, port, ...customAuth, getSocket });
        await t.sendMail(msg(0)); await t.verify();`,
      'customAuth + getSocket, pool + close': `const t = createTransport({ host, port, pool: true, ...customAuth, getSocket });
        await Promise.all(Array.from({ length: 20 }, (_, i) => t.sendMail(msg(i)))); t.close();`,
      'many transporters, pooled and not, closed': `
        for (let i = 0; i < 20; i++) { const t = createTransport({ host, port, pool: i % 2 === 0 }); await t.sendMail(msg(i)); t.close(); }`,
    };
    for (const [name, body] of Object.entries(cases)) {
      const r = await runChild(`${HEADER(srv.port)}${body}\nconsole.log('done');`);
      assert.equal(r.signal, null, `${name}: killed by the timeout, the process did not exit by itself (${r.err})`);
      assert.equal(r.code, 0, `${name}: ${r.err}`);
      assert.equal(r.out.trim(), 'done', name);
      assert.ok(r.ms < 15000, `${name}: exited after ${r.ms} ms`);
    }
  } finally {
    await srv.close();
  }
});

test('after close() no threadsafe-function handle stays open; a send after close() opens and releases them again', async () => {
  const srv = await server();
  try {
    // async_hooks sees what jest --detectOpenHandles sees: every napi threadsafe function is
    // an async resource from its creation until it is released.
    const code = `
import { createHook } from 'node:async_hooks';
const live = new Map();
createHook({
  init(id, type) { if (/threadsafe|napi/i.test(type)) live.set(id, type); },
  destroy(id) { live.delete(id); },
}).enable();
${HEADER(srv.port)}
import { waitFor } from './__test__/helpers/wait.mjs';
// until the release of every handle has reached JS (async_hooks 'destroy'); past the deadline
// (two of them well inside runChild's limit) the parent reports the ones left open
const settle = () => waitFor(() => live.size === 0, { timeout: 3000 }).catch(() => {});
const logger = { info() {}, debug() {}, error() {}, warn() {}, trace() {} };
const ts = [
  createTransport({ host, port }),
  createTransport({ host, port, pool: true }),
  createTransport({ host, port, auth: oauth, logger }),
  createTransport({ host, port, pool: true, auth: oauth, logger }),
  createTransport({ host, port, ...customAuth, getSocket, logger }),
  createTransport({ host, port, pool: true, ...customAuth, getSocket }),
];
const keep = ts; // referenced to the end: release must come from close(), not from GC
for (const t of ts) t.on('token', () => {});
await Promise.all(ts.flatMap((t) => [t.sendMail(msg(1)), t.sendMail(msg(2))]));
const whileOpen = live.size;
for (const t of ts) t.close();
await settle();
const afterClose = [...live.values()];
// nodemailer's non-pooled transport sends after close(); a closed pool refuses: both settle
const again = await Promise.allSettled(ts.map((t) => t.sendMail(msg(3))));
await settle();
const afterAgain = [...live.values()];
console.log(JSON.stringify({ whileOpen, afterClose, afterAgain, again: again.map((r) => r.status), n: keep.length }));`;
    const r = await runChild(code);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out.trim());
    assert.ok(out.whileOpen >= 4, `threadsafe functions seen while open: ${out.whileOpen}`);
    assert.deepEqual(out.afterClose, [], 'handles open after close()');
    assert.deepEqual(out.again, ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    assert.deepEqual(out.afterAgain, [], 'handles open after the sends that followed close()');
  } finally {
    await srv.close();
  }
});
