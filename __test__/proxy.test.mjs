// `proxy` option: HTTP CONNECT (plain and TLS), SOCKS5 (no auth and user/pass), single
// connection and pool, against smtp-server through small proxies on loopback. Each send checks
// what the SMTP server received and what tunnels the proxy opened.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createTransport } from '../index.mjs';
import { withSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startHttpProxy, startSocks5Proxy } from './helpers/proxy.mjs';

const msg = (i = 0) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: `m${i}`, text: `message ${i}` });
// Time that must pass, not an event: how long after the first callback a second one (which
// must never come) is waited for.
const SECOND_CALLBACK_WINDOW_MS = 100;


/** Sends one message through `proxyUrl` with STARTTLS and checks server and tunnel. */
async function sendThrough(proxy, proxyUrl, extra = {}) {
  await withSmtpServer(async (srv) => {
    const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, proxy: proxyUrl, ...extra });
    const info = await t.sendMail(msg());
    assert.deepEqual(info.accepted, ['rcpt@example.com']);
    assert.equal(srv.messages.length, 1);
    assert.equal(srv.messages[0].secure, true, 'STARTTLS ran on the tunnel');
    assert.deepEqual(srv.messages[0].envelope.rcptTo.map((r) => r.address), ['rcpt@example.com']);
    assert.equal(proxy.tunnels.length, 1);
    assert.equal(proxy.tunnels[0].host, 'localhost');
    assert.equal(proxy.tunnels[0].port, srv.port);
    t.close();
  });
}

/** A port nothing listens on. */
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

describe('proxy', () => {
  test('HTTP CONNECT proxy: exact request, STARTTLS through the tunnel', async () => {
    const proxy = await startHttpProxy();
    try {
      await sendThrough(proxy, proxy.url);
      const [t] = proxy.tunnels;
      assert.equal(t.auth, null);
      // node's parser keeps the raw header pairs: exactly Host and Connection
      assert.deepEqual(t.headers, ['Host', `localhost:${t.port}`, 'Connection', 'close']);
    } finally {
      await proxy.close();
    }
  });

  test('HTTP CONNECT proxy with Basic credentials from the URL (percent-decoded)', async () => {
    const proxy = await startHttpProxy({ auth: { user: 'alice', pass: 'p@ss:w' } });
    try {
      await sendThrough(proxy, `http://alice:p%40ss%3Aw@127.0.0.1:${proxy.port}`);
      assert.equal(proxy.tunnels[0].auth, 'alice:p@ss:w');
    } finally {
      await proxy.close();
    }
  });

  test('HTTPS proxy: certificate verified with tls.ca; rejected without it', async () => {
    const proxy = await startHttpProxy({ tls: true });
    try {
      await sendThrough(proxy, proxy.url);
      await withSmtpServer(async (srv) => {
        const t = createTransport({ host: 'localhost', port: srv.port, proxy: proxy.url });
        await assert.rejects(t.sendMail(msg()), (err) => {
          assert.equal(err.code, 'EPROXY');
          assert.match(err.message, /^Proxy TLS handshake failed: invalid peer certificate/);
          return true;
        });
        assert.equal(srv.messages.length, 0);
      });
      assert.equal(proxy.tunnels.length, 1);
    } finally {
      await proxy.close();
    }
  });

  test('SOCKS5 proxy without auth: the proxy gets the host name; implicit TLS', async () => {
    const proxy = await startSocks5Proxy();
    try {
      await withSmtpServer(
        async (srv) => {
          const t = createTransport({ host: 'localhost', port: srv.port, secure: true, tls: { ca: CERTS.ca }, proxy: proxy.url });
          t.set('proxy_socks_module', {}); // accepted and ignored: SOCKS is native
          const info = await t.sendMail(msg());
          assert.deepEqual(info.accepted, ['rcpt@example.com']);
          assert.equal(srv.messages.length, 1);
          assert.equal(srv.messages[0].secure, true);
          assert.deepEqual(proxy.tunnels, [{ host: 'localhost', port: srv.port, auth: null }]);
          t.close();
        },
        { secure: true }
      );
    } finally {
      await proxy.close();
    }
  });

  test('SOCKS5 proxy with username/password', async () => {
    const proxy = await startSocks5Proxy({ auth: { user: 'bob', pass: 's3cret' } });
    try {
      await sendThrough(proxy, `socks5://bob:s3cret@127.0.0.1:${proxy.port}`);
      assert.equal(proxy.tunnels[0].auth, 'bob:s3cret');
    } finally {
      await proxy.close();
    }
  });

  test('pool through a proxy: one tunnel per pooled connection', async () => {
    const proxy = await startHttpProxy();
    try {
      await withSmtpServer(async (srv) => {
        const t = createTransport({ pool: true, maxConnections: 2, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, proxy: proxy.url });
        const infos = await Promise.all(Array.from({ length: 10 }, (_, i) => t.sendMail(msg(i))));
        assert.equal(infos.length, 10);
        assert.equal(srv.messages.length, 10);
        const conns = [...srv.connections.values()];
        assert.equal(proxy.tunnels.length, conns.length);
        assert.ok(conns.length >= 1 && conns.length <= 2, `connections: ${conns}`);
        assert.ok(proxy.tunnels.every((x) => x.host === 'localhost' && x.port === srv.port));
        t.close();
      });
    } finally {
      await proxy.close();
    }
  });

  test('wrong proxy credentials: EPROXY, no credential in the message', async () => {
    const http = await startHttpProxy({ auth: { user: 'alice', pass: 'right' } });
    const socks = await startSocks5Proxy({ auth: { user: 'bob', pass: 'right' } });
    try {
      await withSmtpServer(async (srv) => {
        for (const [url, want] of [
          [`http://alice:wr0ngpass@127.0.0.1:${http.port}`, 'Proxy responded with 407 Proxy Authentication Required'],
          [`socks5://bob:wr0ngpass@127.0.0.1:${socks.port}`, 'SOCKS5 proxy authentication failed'],
        ]) {
          const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, proxy: url });
          await assert.rejects(t.sendMail(msg()), (err) => {
            assert.equal(err.code, 'EPROXY');
            assert.equal(err.message, want);
            assert.ok(!JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes('wr0ngpass'));
            return true;
          });
          await assert.rejects(t.verify(), { code: 'EPROXY' });
        }
        assert.equal(srv.messages.length, 0);
      });
      assert.equal(http.refused, 2);
      assert.equal(socks.refused, 2);
      assert.equal(http.tunnels.length + socks.tunnels.length, 0);
    } finally {
      await http.close();
      await socks.close();
    }
  });

  test('proxy refusing the tunnel: EPROXY with its status', async () => {
    const proxy = await startHttpProxy({ status: 403 });
    try {
      const t = createTransport({ host: 'localhost', port: 25, proxy: proxy.url });
      await assert.rejects(t.sendMail(msg()), { code: 'EPROXY', message: 'Proxy responded with 403 Forbidden' });
      assert.equal(proxy.refused, 1);
    } finally {
      await proxy.close();
    }
  });

  test('proxy down: one error, callback called once', async () => {
    const port = await deadPort();
    const t = createTransport({ host: 'localhost', port: 25, proxy: `socks5://127.0.0.1:${port}` });
    let calls = 0;
    const err = await new Promise((resolve) => {
      t.sendMail(msg(), (e) => {
        calls++;
        resolve(e);
      });
    });
    await new Promise((r) => setTimeout(r, SECOND_CALLBACK_WINDOW_MS));
    assert.equal(calls, 1);
    assert.equal(err.code, 'ESOCKET');
    assert.equal(err.errno, 'ECONNREFUSED');
    assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  test('unknown proxy scheme: EPROXY "Unknown proxy configuration" at send time', async () => {
    const t = createTransport({ host: 'localhost', port: 25, proxy: 'ftp://user:hunter2@127.0.0.1:21' });
    await assert.rejects(t.sendMail(msg()), (err) => {
      assert.equal(err.code, 'EPROXY');
      assert.equal(err.message, 'Unknown proxy configuration');
      return true;
    });
  });
});
