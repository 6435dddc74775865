// Pooled transport (`pool: true`) against smtp-server on loopback: connection reuse and limits,
// recycling, rate limits, failures isolated to their message, close(), idle, OAuth2 and
// per-message auth. Connections and messages are counted on the server side.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createTransport } from '../index.mjs';
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startMockOAuth } from './helpers/oauth.mjs';
import { waitFor, within } from './helpers/wait.mjs';

const msg = (i, extra = {}) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: `m${i}`, text: `message ${i}`, ...extra });
const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Drops the server side of the connection a message arrived on. */
function killConnection(srv, connectionId) {
  for (const conn of srv.server.connections) {
    if (conn.id === connectionId) conn._socket.destroy();
  }
}

describe('pool', () => {
  test('100 messages over at most maxConnections connections, reused (no re-auth per message)', async () => {
    const srv = await startSmtpServer({ users: { u: 'p' } });
    try {
      const t = createTransport({ pool: true, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, auth: { user: 'u', pass: 'p' } });
      assert.equal(t.transporter.name, 'SMTP (pool)');
      const infos = await Promise.all(range(100).map((i) => t.sendMail(msg(i))));
      assert.equal(infos.length, 100);
      assert.ok(infos.every((i) => i.accepted[0] === 'rcpt@example.com'));
      assert.equal(srv.messages.length, 100);
      const perConnection = [...srv.connections.values()];
      assert.ok(perConnection.length > 1 && perConnection.length <= 5, `connections: ${perConnection}`);
      assert.equal(perConnection.reduce((a, b) => a + b, 0), 100);
      assert.equal(srv.authAttempts.length, perConnection.length, 'one AUTH per connection');
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('maxMessages recycles connections', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ pool: true, maxConnections: 1, maxMessages: 5, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca } });
      await Promise.all(range(12).map((i) => t.sendMail(msg(i))));
      assert.deepEqual([...srv.connections.values()], [5, 5, 2]);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('rateLimit is pool-wide: 30 messages at 10 per 200 ms take at least 400 ms', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ pool: true, rateLimit: 10, rateDelta: 200, host: 'localhost', port: srv.port, ignoreTLS: true });
      const started = Date.now();
      await Promise.all(range(30).map((i) => t.sendMail(msg(i))));
      const took = Date.now() - started;
      assert.ok(took >= 400, `took ${took} ms`);
      assert.equal(srv.messages.length, 30);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('half of the messages rejected: only those fail, the rest are delivered', async () => {
    const srv = await startSmtpServer({ authOptional: true, rejectRcpt: (a) => a.startsWith('bad') });
    try {
      const t = createTransport({ pool: true, host: 'localhost', port: srv.port, ignoreTLS: true });
      const results = await Promise.allSettled(range(40).map((i) => t.sendMail(msg(i, { to: i % 2 ? `bad${i}@example.com` : `ok${i}@example.com` }))));
      for (const [i, r] of results.entries()) {
        if (i % 2) {
          assert.equal(r.status, 'rejected');
          assert.equal(r.reason.code, 'EENVELOPE');
        } else assert.equal(r.status, 'fulfilled');
      }
      assert.equal(srv.messages.length, 20);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('idle connections closed by the server are replaced without failing messages', async () => {
    const srv = await startSmtpServer({ authOptional: true, socketTimeout: 300 });
    try {
      const t = createTransport({ pool: true, host: 'localhost', port: srv.port, ignoreTLS: true });
      await Promise.all(range(10).map((i) => t.sendMail(msg(i))));
      // the server times the idle sessions out (socketTimeout) and closes them
      await waitFor(() => srv.server.connections.size === 0, { what: 'the server to close the idle sessions' });
      await Promise.all(range(10).map((i) => t.sendMail(msg(i + 10))));
      assert.equal(srv.messages.length, 20);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('a connection dying mid-message fails only that message', async () => {
    let srv;
    srv = await startSmtpServer({
      authOptional: true,
      onMessage: (m) => {
        if (m.raw.toString().includes('Subject: m7\r\n')) {
          killConnection(srv, m.connectionId);
          const err = new Error('dropping');
          err.responseCode = 421;
          return err;
        }
        return undefined;
      },
    });
    try {
      const t = createTransport({ pool: true, host: 'localhost', port: srv.port, ignoreTLS: true });
      const results = await Promise.allSettled(range(20).map((i) => t.sendMail(msg(i))));
      const failed = results.map((r, i) => (r.status === 'rejected' ? i : -1)).filter((i) => i >= 0);
      assert.deepEqual(failed, [7]);
      assert.equal(srv.messages.length, 19);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('close() fails queued messages promptly; sendMail after close rejects at once', async () => {
    let firstArrived;
    const arrived = new Promise((r) => (firstArrived = r));
    const srv = await startSmtpServer({ authOptional: true, onMessage: () => void firstArrived() });
    try {
      const t = createTransport({ pool: true, maxConnections: 1, host: 'localhost', port: srv.port, ignoreTLS: true });
      const pending = range(50).map((i) => t.sendMail(msg(i)));
      // close while the pool is sending: right after the server has taken the first message
      await within(arrived, { what: 'the first message to reach the server' });
      t.close();
      const results = await Promise.allSettled(pending);
      const closed = results.filter((r) => r.status === 'rejected');
      assert.ok(closed.length > 0, 'some messages were still queued');
      for (const r of closed) assert.match(r.reason.message, /Connection pool was closed/);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, srv.messages.length);
      const started = Date.now();
      await assert.rejects(t.sendMail(msg(99)), /Connection pool was closed/);
      assert.ok(Date.now() - started < 1000);
    } finally {
      await srv.close();
    }
  });

  test('more sends than the native window (maxConnections 1: 100): FIFO, counted, idle only when drained, close fails the waiting ones', { timeout: 30000 }, async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ pool: true, maxConnections: 1, host: 'localhost', port: srv.port, ignoreTLS: true });
      let idleEvents = 0;
      t.on('idle', () => idleEvents++);
      await within(once(t, 'idle'), { what: "the pool's creation-time 'idle' event" });
      idleEvents = 0;
      // a message reused with its top-level fields reassigned: each send keeps what it had
      const m = msg(0);
      const all = range(250).map((i) => {
        m.subject = `m${i}`;
        m.text = `message ${i}`;
        return t.sendMail(m);
      });
      // 250 queued: at most 100 in Rust, the rest waiting in JS, all counted
      assert.ok(t.pendingCount() >= 240, `pending ${t.pendingCount()}`);
      assert.equal(t.isIdle(), false);
      const infos = await Promise.all(all);
      assert.equal(infos.length, 250);
      const subjects = srv.messages.map((x) => /^Subject: (.*)$/m.exec(x.raw.toString())[1].trim());
      assert.deepEqual(subjects, range(250).map((i) => `m${i}`), 'one connection: delivered in sendMail order');
      assert.equal(t.pendingCount(), 0);
      assert.equal(t.isIdle(), true);
      assert.ok(idleEvents >= 1, 'idle once drained');

      // close with sends still waiting in JS: every one settles, the waiting ones with the pool's error
      const more = range(300).map((i) => t.sendMail(msg(1000 + i)));
      t.close();
      const results = await Promise.allSettled(more);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.ok(failed.length >= 199, `failed ${failed.length}`);
      for (const r of failed) {
        assert.equal(r.reason.code, 'ECONNECTION');
        assert.match(r.reason.message, /Connection pool was closed/);
      }
      assert.equal(t.pendingCount(), 0);
    } finally {
      await srv.close();
    }
  });

  test('a waiting message that throws when Rust reads it fails alone, the queue goes on', { timeout: 30000 }, async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ pool: true, maxConnections: 1, host: 'localhost', port: srv.port, ignoreTLS: true });
      let reads = 0;
      // passes the checks at sendMail time, throws on a later read (when it leaves the JS queue)
      const header = {
        get value() {
          if (++reads > 1) throw new Error('header value went away');
          return 'v';
        },
      };
      const all = range(150).map((i) => t.sendMail(i === 120 ? msg(i, { headers: { 'X-Late': header } }) : msg(i)));
      const results = await Promise.allSettled(all);
      const failed = results.map((r, i) => [r, i]).filter(([r]) => r.status === 'rejected');
      assert.deepEqual(failed.map(([, i]) => i), [120]);
      assert.match(failed[0][0].reason.message, /header value went away/);
      assert.equal(srv.messages.length, 149);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('isIdle() and the idle event drive the documented "feed the queue on idle" pattern', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ pool: true, maxConnections: 2, host: 'localhost', port: srv.port, ignoreTLS: true });
      assert.equal(t.isIdle(), true);
      const queue = range(30).map((i) => msg(i));
      const sent = [];
      let idleEvents = 0;
      await new Promise((resolve, reject) => {
        t.on('idle', () => {
          idleEvents++;
          while (t.isIdle() && queue.length) {
            sent.push(t.sendMail(queue.shift()).catch(reject));
          }
          if (!queue.length && sent.length === 30) Promise.all(sent).then(resolve, reject);
        });
      });
      assert.equal(srv.messages.length, 30);
      assert.ok(idleEvents > 1, `idle events: ${idleEvents}`);
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('OAuth2: 5 connections and 200 messages with an expired token make exactly one token request', async () => {
    const oauth = await startMockOAuth();
    const srv = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
    try {
      const t = createTransport({
        pool: true,
        maxConnections: 5,
        maxMessages: 20,
        host: 'localhost',
        port: srv.port,
        tls: { ca: CERTS.ca },
        auth: { type: 'OAuth2', user: 'user@example.com', clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt', accessToken: 'old', expires: 1, accessUrl: oauth.tokenUrl },
      });
      let events = 0;
      t.on('token', () => events++);
      await Promise.all(range(200).map((i) => t.sendMail(msg(i))));
      assert.equal(srv.messages.length, 200);
      assert.ok(srv.connections.size >= 10, `recycled connections: ${srv.connections.size}`);
      assert.equal(oauth.tokenRequests.length, 1);
      assert.equal(events, 1);
      t.close();
    } finally {
      await srv.close();
      await oauth.close();
    }
  });

  test('per-message auth: each message is sent on a connection authenticated as its own user', async () => {
    const srv = await startSmtpServer({ users: { alice: 'a-pass', bob: 'b-pass' } });
    try {
      const t = createTransport({ pool: true, maxConnections: 2, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, auth: { user: 'alice', pass: 'a-pass' } });
      const sends = range(20).map((i) =>
        t.sendMail(msg(i, i % 2 ? { from: 'bob@example.com', auth: { user: 'bob', pass: 'b-pass' } } : { from: 'alice@example.com' }))
      );
      await Promise.all(sends);
      assert.equal(srv.messages.length, 20);
      for (const m of srv.messages) {
        assert.equal(m.user, m.envelope.mailFrom.address.split('@')[0], 'sent as its own identity');
      }
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('verify() on a pool', async () => {
    const srv = await startSmtpServer({ users: { u: 'p' } });
    try {
      const t = createTransport({ pool: true, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, auth: { user: 'u', pass: 'p' } });
      assert.equal(await t.verify(), true);
      t.close();
    } finally {
      await srv.close();
    }
  });
});
