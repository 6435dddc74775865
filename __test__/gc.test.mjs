// Transporters nobody references are garbage-collected, with their native state, in every mode
// and whatever was done with them. The body runs in a child process started with --expose-gc
// (node --test's own process has no gc()); the SMTP server runs here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtpServer } from './helpers/smtp.mjs';
import { runModule } from './helpers/child.mjs';

const runChild = (code) => runModule(code, { flags: ['--expose-gc'], timeoutMs: 90_000 });

// Each case makes N transporters in its own function (so nothing on the stack points at
// them), registers them with a FinalizationRegistry, drops them and collects.
const childBody = (port) => `
import { createTransport } from './index.mjs';
import { gcUntil } from './__test__/helpers/wait.mjs';
import net from 'node:net';
const N = 12;
const host = '127.0.0.1';
const port = ${port};
const msg = (i) => ({ from: 'a@example.com', to: 'b@example.com', subject: 'gc ' + i, text: 'x' });
const oauth = (extra = {}) => ({
  host, port, ...extra,
  auth: { type: 'OAuth2', user: 'user@example.com', provisionCallback: (user, renew, cb) => cb(null, 'tok-gc', Date.now() + 3600e3) },
});
const cases = {
  'json unused': async () => createTransport({ jsonTransport: true }),
  'json sent': async (i) => { const t = createTransport({ jsonTransport: true }); await t.sendMail(msg(i)); t.close(); return t; },
  'stream unused': async () => createTransport({ streamTransport: true, buffer: true }),
  'stream sent': async (i) => { const t = createTransport({ streamTransport: true, buffer: true }); await t.sendMail(msg(i)); t.close(); return t; },
  'smtp unused': async () => createTransport({ host, port }),
  'smtp sent, closed': async (i) => { const t = createTransport({ host, port }); await t.sendMail(msg(i)); t.close(); return t; },
  'smtp sent, not closed': async (i) => { const t = createTransport({ host, port }); await t.sendMail(msg(i)); return t; },
  'smtp verified': async () => { const t = createTransport({ host, port }); await t.verify(); return t; },
  'pool unused': async () => createTransport({ host, port, pool: true }),
  'pool sent, closed': async (i) => { const t = createTransport({ host, port, pool: true }); await t.sendMail(msg(i)); t.close(); return t; },
  'pool sent, not closed': async (i) => { const t = createTransport({ host, port, pool: true }); await t.sendMail(msg(i)); return t; },
  'oauth2 unused': async () => {
    const t = createTransport(oauth());
    // a listener that uses the transporter: closures made here share a scope with the
    // provisioning callback above only in the user's code, so make one that captures t
    t.on('token', () => { t.tokens = (t.tokens || 0) + 1; });
    return t;
  },
  'oauth2 sent, closed': async (i) => {
    const t = createTransport(oauth());
    t.on('token', () => { t.tokens = (t.tokens || 0) + 1; });
    t.set('oauth2_provision_cb', (user, renew, cb) => { t.provisioned = true; cb(null, 'tok-gc', Date.now() + 3600e3); });
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
  'oauth2 pool sent, closed': async (i) => {
    const t = createTransport(oauth({ pool: true }));
    t.on('token', () => { t.tokens = (t.tokens || 0) + 1; });
    t.set('oauth2_provision_cb', (user, renew, cb) => { t.provisioned = true; cb(null, 'tok-gc', Date.now() + 3600e3); });
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
  'oauth2 sent, not closed': async (i) => {
    const t = createTransport(oauth());
    t.on('token', () => { t.tokens = (t.tokens || 0) + 1; });
    await t.sendMail(msg(i));
    return t;
  },
  // customAuth handlers and getSocket are the user's functions, held by the transporter's
  // options; these refer to the transporter, as user code may
  'customAuth sent, closed': async (i) => {
    const t = createTransport(customAuth(() => t));
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
  'customAuth sent, not closed': async (i) => {
    const t = createTransport(customAuth(() => t));
    await t.sendMail(msg(i));
    return t;
  },
  'customAuth pool sent, closed': async (i) => {
    const t = createTransport(customAuth(() => t, { pool: true }));
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
  'getSocket sent, closed': async (i) => {
    const t = createTransport(getSocket(() => t));
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
  'getSocket sent, not closed': async (i) => {
    const t = createTransport(getSocket(() => t));
    await t.sendMail(msg(i));
    return t;
  },
  'getSocket pool sent, closed': async (i) => {
    const t = createTransport(getSocket(() => t, { pool: true }));
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
  'proxy handler sent, closed': async (i) => {
    const t = createTransport({ host: 'mx.invalid', port, proxy: 'gc-proxy://proxy.invalid' });
    t.set('proxy_handler_gc-proxy', (proxy, options, cb) => {
      const s = net.connect(options.port, host);
      s.once('connect', () => { t.sockets = (t.sockets || 0) + 1; cb(null, { connection: s }); });
      s.once('error', cb);
    });
    await t.sendMail(msg(i));
    t.close();
    return t;
  },
};
function customAuth(self, extra = {}) {
  return {
    host, port, ...extra,
    auth: { user: 'u', pass: 'p', method: 'X-GC' },
    customAuth: { 'X-GC': async (ctx) => { await ctx.sendCommand('NOOP'); const t = self(); t.logins = (t.logins || 0) + 1; } },
  };
}
function getSocket(self, extra = {}) {
  return {
    host: 'mx.invalid', port, ...extra,
    getSocket: (options, cb) => {
      const s = net.connect(options.port, host);
      s.once('connect', () => { const t = self(); t.sockets = (t.sockets || 0) + 1; cb(null, { connection: s }); });
      s.once('error', cb);
    },
  };
}
const collected = {};
const registry = new FinalizationRegistry((name) => { collected[name]++; });
async function make(name) {
  collected[name] = 0;
  for (let i = 0; i < N; i++) registry.register(await cases[name](i), name);
}
for (const name of Object.keys(cases)) await make(name);
// Collect until every transporter is finalized (QUIT exchanges of dropped pools and the last
// outcomes settle in the turns between); past the deadline the parent reports what was not.
await gcUntil(() => Object.values(collected).every((n) => n === N), { interval: 25 });
console.log(JSON.stringify({ N, collected }));
`;

test('transporters nobody references are collected, in every mode', async () => {
  const srv = await startSmtpServer({ xoauth2: true, validTokens: new Set(['tok-gc']), hideSTARTTLS: true, authOptional: true, closeTimeout: 50 });
  try {
    const r = await runChild(childBody(srv.port));
    assert.equal(r.signal, null, `child killed (hang?): ${r.err}`);
    assert.equal(r.code, 0, r.err);
    const { N, collected } = JSON.parse(r.out.trim().split('\n').pop());
    for (const [name, n] of Object.entries(collected)) {
      assert.equal(n, N, `${name}: ${n} of ${N} transporters collected`);
    }
    // the sends really happened (7 plain smtp cases with a send, 7 customAuth/socket ones, N each)
    assert.ok(srv.messages.length >= 14 * N, `${srv.messages.length} messages received`);
  } finally {
    await srv.close();
  }
});

test('a collected transporter releases its native state (RSS and heap stay flat)', async () => {
  // 3,000 unused SMTP transporters, collected, then 3,000 more: the second batch must not grow
  // the heap the way it does when each one is kept (about 1.5 KB of heap per transporter).
  const code = `
import { createTransport } from './index.mjs';
import { gcUntil } from './__test__/helpers/wait.mjs';
let made = 0;
let finalized = 0;
const registry = new FinalizationRegistry(() => finalized++);
async function batch(n) { for (let i = 0; i < n; i++, made++) registry.register(createTransport({ host: '127.0.0.1', port: 1 })); }
// collect until every transporter made so far is finalized (the heap check below tells if not)
async function settle() { await gcUntil(() => finalized === made); gc(); }
await batch(3000); await settle();
const heap1 = process.memoryUsage().heapUsed;
await batch(3000); await settle();
const heap2 = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ heap1, heap2 }));`;
  const r = await runChild(code);
  assert.equal(r.code, 0, r.err);
  const { heap1, heap2 } = JSON.parse(r.out.trim());
  assert.ok(heap2 - heap1 < 1024 * 1024, `heap grew ${heap2 - heap1} bytes over 3,000 dropped transporters`);
});
