// Every user callback runs in the async context (AsyncLocalStorage) of the call that caused it,
// not in the one where the transporter was created: send and verify callbacks, the provisioning
// callback, `token` events and the log lines of a send's or verify's own connection. Transporters
// are created inside `als.run('create', ...)`, which is what a callback must NOT see.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createTransport } from '../index.mjs';
import { startSmtpServer } from './helpers/smtp.mjs';
import { startMockOAuth } from './helpers/oauth.mjs';

const als = new AsyncLocalStorage();
const msg = (i) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: `ctx ${i}`, text: `message ${i}` });
const N = 12;

function create(options) {
  return als.run('create', () => createTransport({ host: '127.0.0.1', ignoreTLS: true, ...options }));
}

/** A bunyan-style logger that records the context of every line, with the level and tnx. */
function recordingLogger() {
  const lines = [];
  const logger = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = (entry) => lines.push({ level, tnx: entry.tnx, cid: entry.sid || entry.cid, ctx: als.getStore() });
  }
  return { logger, lines };
}

/** N concurrent callback-style sends, each started in its own context: [sent in, seen in]. */
function sendAllWithCallbacks(t, n = N) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise((resolve) =>
        als.run(`send ${i}`, () =>
          t.sendMail(msg(i), (err, info) => resolve({ want: `send ${i}`, got: als.getStore(), err, info }))
        )
      )
    )
  );
}

function sendAllWithPromises(t, n = N) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      als.run(`send ${i}`, () => t.sendMail(msg(i)).then((info) => ({ want: `send ${i}`, got: als.getStore(), info })))
    )
  );
}

function assertOwnContexts(results) {
  for (const r of results) {
    assert.ifError(r.err);
    assert.equal(r.got, r.want);
  }
}

for (const pool of [false, true]) {
  const kind = pool ? 'pooled' : 'single';
  describe(`${kind} transport`, () => {
    test('concurrent callback sends in different contexts each see their own', async () => {
      const srv = await startSmtpServer();
      const t = create({ port: srv.port, pool, maxConnections: 3 });
      try {
        const results = await sendAllWithCallbacks(t);
        assertOwnContexts(results);
        assert.equal(srv.messages.length, N);
      } finally {
        t.close();
        await srv.close();
      }
    });

    test('a failed send calls back in its own context too', async () => {
      const srv = await startSmtpServer({ rejectRcpt: () => true });
      const t = create({ port: srv.port, pool, maxConnections: 2 });
      try {
        const results = await sendAllWithCallbacks(t, 4);
        for (const r of results) {
          assert.equal(r.err && r.err.code, 'EENVELOPE');
          assert.equal(r.got, r.want);
        }
      } finally {
        t.close();
        await srv.close();
      }
    });

    test('promise sends keep their context', async () => {
      const srv = await startSmtpServer();
      const t = create({ port: srv.port, pool, maxConnections: 3 });
      try {
        assertOwnContexts(await sendAllWithPromises(t));
      } finally {
        t.close();
        await srv.close();
      }
    });

    test('verify calls back in its own context (callback and promise)', async () => {
      const srv = await startSmtpServer();
      const t = create({ port: srv.port, pool });
      try {
        const seen = await new Promise((resolve) => als.run('verify cb', () => t.verify((err) => resolve([err, als.getStore()]))));
        assert.deepEqual(seen, [null, 'verify cb']);
        const viaPromise = await als.run('verify p', () => t.verify().then(() => als.getStore()));
        assert.equal(viaPromise, 'verify p');
      } finally {
        t.close();
        await srv.close();
      }
    });

    test('the provisioning callback runs in the context of the send that needs the token', async () => {
      const srv = await startSmtpServer({ xoauth2: true, allowInsecureAuth: true });
      const calls = [];
      const t = create({
        port: srv.port,
        pool,
        maxConnections: 2,
        auth: {
          type: 'OAuth2',
          user: 'user@example.com',
          provisionCallback: (user, renew, cb) => {
            calls.push(als.getStore());
            const token = `token-${calls.length}`;
            srv.validTokens.add(token);
            setTimeout(() => cb(null, token, Date.now() + 3600_000), 5);
          },
        },
      });
      try {
        const results = await sendAllWithCallbacks(t, 6);
        assertOwnContexts(results);
        // one token for all (cached), asked for by the first send
        assert.deepEqual(calls, ['send 0']);
      } finally {
        t.close();
        await srv.close();
      }
    });

    test('the provisioning callback runs in the context of a verify that needs the token', async () => {
      const srv = await startSmtpServer({ xoauth2: true, allowInsecureAuth: true });
      const calls = [];
      const t = create({ port: srv.port, pool, auth: { type: 'OAuth2', user: 'user@example.com' } });
      t.set('oauth2_provision_cb', (user, renew, cb) => {
        calls.push(als.getStore());
        srv.validTokens.add('tok');
        cb(null, 'tok', Date.now() + 3600_000);
      });
      try {
        await als.run('verify', () => t.verify());
        assert.deepEqual(calls, ['verify']);
      } finally {
        t.close();
        await srv.close();
      }
    });

    test('the token event fires in the context of the send whose refresh produced it', async () => {
      const oauth = await startMockOAuth();
      const srv = await startSmtpServer({ xoauth2: true, allowInsecureAuth: true, validTokens: oauth.issuedTokens });
      const t = create({
        port: srv.port,
        pool,
        maxConnections: 2,
        auth: { type: 'OAuth2', user: 'user@example.com', clientId: 'id', clientSecret: 'secret', refreshToken: 'refresh', accessUrl: oauth.tokenUrl },
      });
      const tokens = [];
      t.on('token', (tok) => tokens.push([tok.user, als.getStore()]));
      try {
        assertOwnContexts(await sendAllWithPromises(t, 5));
        assert.deepEqual(tokens, [['user@example.com', 'send 0']]);
      } finally {
        t.close();
        await srv.close();
        await oauth.close();
      }
    });
  });
}

describe('logger', () => {
  test("single transport: a send's and a verify's log lines run in their context", async () => {
    const srv = await startSmtpServer();
    const { logger, lines } = recordingLogger();
    const t = create({ port: srv.port, logger });
    lines.splice(0); // "Creating transport" is written in the creating context
    try {
      await als.run('verify', () => t.verify());
      const verifyLines = lines.splice(0);
      assert.ok(verifyLines.length > 0);
      assert.deepEqual([...new Set(verifyLines.map((l) => l.ctx))], ['verify']);
      assertOwnContexts(await sendAllWithCallbacks(t, 4));
      // each connection (cid) logs in the context of the one send it carries
      const byCid = new Map();
      for (const l of lines) {
        if (!l.cid) continue;
        if (!byCid.has(l.cid)) byCid.set(l.cid, new Set());
        byCid.get(l.cid).add(l.ctx);
      }
      assert.equal(byCid.size, 4);
      const contexts = [...byCid.values()].map((s) => [...s]);
      for (const c of contexts) assert.equal(c.length, 1, `one context per connection: ${c}`);
      assert.deepEqual(contexts.map((c) => c[0]).sort(), ['send 0', 'send 1', 'send 2', 'send 3']);
    } finally {
      t.close();
      await srv.close();
    }
  });
});
