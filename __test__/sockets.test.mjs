// Sockets made in JS carry the SMTP session Rust drives: `getSocket` (a plain `net` socket, an
// HTTP CONNECT tunnel, a TLS socket with `secured`, any Duplex), the `connection` and `socket`
// options, custom proxy handlers (`set('proxy_handler_<scheme>', fn)`); STARTTLS by rustls over
// the JS socket; errors and close both ways; backpressure from a slow socket; pool; process exit.
// nodemailer runs the same getSocket / proxy handler side by side where the arguments matter.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { createTransport } from '../index.mjs';
import { startSmtpServer, withSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startHttpProxy } from './helpers/proxy.mjs';
import { startRawServer } from './helpers/raw.mjs';

const msg = (i = 0, extra = {}) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: `m${i}`, text: `message ${i}`, ...extra });
const IMPLS = {
  'mailer-rs': (o) => createTransport(o),
  nodemailer: (o) => nodemailer.createTransport(o),
};


/** getSocket connecting with net.connect to 127.0.0.1:options.port; records its calls. */
function netGetSocket(calls) {
  return (options, cb) => {
    calls.push({ host: options.host, port: options.port, connectStartedAt: typeof options.connectStartedAt });
    const s = net.connect(options.port, '127.0.0.1', () => {
      s.removeListener('error', cb);
      cb(null, { connection: s });
    });
    s.once('error', cb);
  };
}

/** An HTTP CONNECT through `proxyPort` to host:port, as a getSocket would open it. */
function connectThrough(proxyPort, host, port, cb) {
  const s = net.connect(proxyPort, '127.0.0.1', () => {
    s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  });
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    s.removeListener('data', onData);
    s.removeListener('error', cb);
    s.pause();
    if (!/^HTTP\/1\.[01] 200/.test(head.toString('latin1'))) return cb(new Error('proxy refused: ' + head.toString('latin1').split('\r\n')[0]));
    // anything after the head already belongs to SMTP
    if (head.length > end + 4) s.unshift(head.subarray(end + 4));
    cb(null, s);
  };
  s.on('data', onData);
  s.once('error', cb);
}

/** A Duplex around a socket that is not a net.Socket (no addresses) and counts bytes. */
function wrapDuplex(inner, stats) {
  const d = new Duplex({
    write(chunk, enc, cb) {
      stats.written += chunk.length;
      inner.write(chunk, cb);
    },
    final(cb) {
      inner.end();
      cb();
    },
    read() {
      inner.resume();
    },
    destroy(err, cb) {
      inner.destroy();
      cb(err);
    },
  });
  inner.on('data', (c) => {
    stats.read += c.length;
    if (!d.push(c)) inner.pause();
  });
  inner.on('end', () => d.push(null));
  inner.on('error', (e) => d.destroy(e));
  return d;
}

function records() {
  const list = [];
  const logger = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = (fields, ...args) => list.push({ level, fields, template: args[0], args: args.slice(1) });
  }
  return { logger, list };
}

describe('sockets from JS', () => {
  test('getSocket with a net socket: STARTTLS by rustls over it, no DNS, same arguments as nodemailer', async () => {
    await withSmtpServer(async (srv) => {
      const seen = {};
      for (const [name, make] of Object.entries(IMPLS)) {
        const calls = [];
        const { logger, list } = records();
        const t = make({ host: 'mx.invalid', port: srv.port, tls: { ca: CERTS.ca, servername: 'localhost' }, logger, getSocket: netGetSocket(calls) });
        const info = await t.sendMail(msg());
        assert.deepEqual(info.accepted, ['rcpt@example.com'], name);
        assert.equal(await t.verify(), true);
        const proxied = list.filter((r) => r.template === 'Using proxied socket from %s:%s to %s:%s');
        assert.equal(proxied.length, 2, `${name}: one log record per connection`);
        assert.deepEqual(proxied[0].args.slice(1), [srv.port, 'mx.invalid', srv.port]);
        seen[name] = calls;
        t.close();
      }
      assert.deepEqual(seen['mailer-rs'], seen.nodemailer);
      assert.deepEqual(seen['mailer-rs'][0], { host: 'mx.invalid', port: srv.port, connectStartedAt: 'number' });
      assert.equal(srv.messages.length, 2);
      for (const m of srv.messages) assert.equal(m.secure, true, 'STARTTLS ran over the JS socket');
    });
  });

  test('getSocket through an HTTP CONNECT proxy', async () => {
    const proxy = await startHttpProxy();
    try {
      await withSmtpServer(async (srv) => {
        const t = createTransport({
          host: 'smtp.example.test',
          port: srv.port,
          tls: { ca: CERTS.ca, servername: 'localhost' },
          getSocket: (options, cb) => connectThrough(proxy.port, options.host, options.port, (err, s) => (err ? cb(err) : cb(null, { connection: s }))),
        });
        const info = await t.sendMail(msg());
        assert.deepEqual(info.accepted, ['rcpt@example.com']);
        assert.equal(proxy.tunnels.length, 1);
        assert.equal(proxy.tunnels[0].host, 'smtp.example.test');
        assert.equal(srv.messages[0].secure, true);
        t.close();
      });
    } finally {
      await proxy.close();
    }
  });

  test('secured: true over a tls.connect socket (no second TLS); secure without secured: TLS over the JS socket', async () => {
    await withSmtpServer(
      async (srv) => {
        const tlsSocket = (options, cb) => {
          const s = tls.connect({ port: options.port, host: '127.0.0.1', servername: 'localhost', ca: CERTS.ca }, () => {
            s.removeListener('error', cb);
            cb(null, { connection: s, secured: true });
          });
          s.once('error', cb);
        };
        const t = createTransport({ host: 'localhost', port: srv.port, secure: true, getSocket: tlsSocket });
        const info = await t.sendMail(msg(1));
        assert.deepEqual(info.accepted, ['rcpt@example.com']);
        // implicit TLS by rustls over a plain JS socket
        const t2 = createTransport({ host: 'localhost', port: srv.port, secure: true, tls: { ca: CERTS.ca }, getSocket: netGetSocket([]) });
        await t2.sendMail(msg(2));
        assert.equal(srv.messages.length, 2);
        assert.ok(srv.messages.every((m) => m.secure));
        // a TLS socket without `secured`: rustls handshakes inside it, which the server cannot read
        const t3 = createTransport({
          host: 'localhost',
          port: srv.port,
          secure: true,
          connectionTimeout: 1500,
          tls: { ca: CERTS.ca },
          getSocket: (o, cb) => tlsSocket(o, (err, so) => cb(err, so && { connection: so.connection })),
        });
        await assert.rejects(t3.sendMail(msg(3)), (e) => ['ETLS', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION'].includes(e.code));
      },
      { secure: true }
    );
  });

  test('any Duplex: a wrapper without addresses carries the session, STARTTLS included', async () => {
    await withSmtpServer(async (srv) => {
      const stats = { read: 0, written: 0 };
      const t = createTransport({
        host: 'localhost',
        port: srv.port,
        tls: { ca: CERTS.ca },
        getSocket: (options, cb) => {
          const s = net.connect(options.port, '127.0.0.1', () => cb(null, { connection: wrapDuplex(s, stats) }));
        },
      });
      await t.sendMail(msg(0, { text: 'x'.repeat(200000) }));
      assert.equal(srv.messages[0].secure, true);
      assert.ok(stats.written > 200000 && stats.read > 0, JSON.stringify(stats));
    });
  });

  test('the connection and socket options', async () => {
    await withSmtpServer(async (srv) => {
      const s = await new Promise((resolve) => {
        const c = net.connect(srv.port, '127.0.0.1', () => resolve(c));
      });
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, connection: s });
      await t.sendMail(msg(1));
      const t2 = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, socket: new net.Socket() });
      await t2.sendMail(msg(2));
      assert.equal(srv.messages.length, 2);
      assert.ok(srv.messages.every((m) => m.secure));
    });
  });

  test('custom proxy handler: set("proxy_handler_<scheme>") gets the parsed proxy URL, as in nodemailer', async () => {
    await withSmtpServer(async (srv) => {
      const seen = {};
      for (const [name, make] of Object.entries(IMPLS)) {
        const t = make({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, proxy: 'myproxy://user:pw@proxy.test:4242' });
        const calls = [];
        t.set('proxy_handler_myproxy', (proxy, options, cb) => {
          calls.push({ protocol: proxy.protocol, hostname: proxy.hostname, port: proxy.port, auth: proxy.auth, host: options.host, port2: options.port });
          const s = net.connect(options.port, '127.0.0.1', () => cb(null, { connection: s }));
        });
        await t.sendMail(msg());
        seen[name] = calls;
        t.close();
      }
      assert.deepEqual(seen['mailer-rs'], seen.nodemailer);
      assert.deepEqual(seen['mailer-rs'], [{ protocol: 'myproxy:', hostname: 'proxy.test', port: '4242', auth: 'user:pw', host: 'localhost', port2: srv.port }]);
      assert.equal(srv.messages.length, 2);
      // no handler for the scheme: EPROXY as nodemailer
      const t = createTransport({ host: 'localhost', port: srv.port, proxy: 'other://proxy.test:1' });
      t.set('proxy_handler_myproxy', () => assert.fail('not this one'));
      await assert.rejects(t.sendMail(msg()), { code: 'EPROXY' });
    });
  });

  test('errors: getSocket fails, the socket errors or closes mid-session', async () => {
    await withSmtpServer(async (srv) => {
      const refused = createTransport({
        host: 'localhost',
        port: srv.port,
        getSocket: (o, cb) => cb(Object.assign(new Error('no route for you'), { code: 'EPROXY' })),
      });
      await assert.rejects(refused.sendMail(msg()), { code: 'EPROXY', message: 'no route for you', command: 'CONN' });
      const thrown = createTransport({
        host: 'localhost',
        port: srv.port,
        getSocket: () => {
          throw Object.assign(new Error('getSocket broke'), { code: 'ECONNREFUSED' });
        },
      });
      await assert.rejects(thrown.sendMail(msg()), { code: 'ESOCKET', errno: 'ECONNREFUSED', message: 'getSocket broke' });
      const silent = createTransport({ host: 'localhost', port: srv.port, connectionTimeout: 300, getSocket: () => {} });
      await assert.rejects(silent.sendMail(msg()), { code: 'ETIMEDOUT', message: 'Connection timeout' });
    });
    // a server that drops the connection after the greeting, and one whose socket errors
    const raw = await startRawServer(async (c) => {
      c.write('220 test ESMTP\r\n');
      await c.readLine();
      c.destroy();
    });
    try {
      const t = createTransport({ host: 'localhost', port: raw.port, getSocket: netGetSocket([]) });
      await assert.rejects(t.sendMail(msg()), { code: 'ECONNECTION', message: 'Connection closed unexpectedly' });
      const t2 = createTransport({
        host: 'localhost',
        port: raw.port,
        getSocket: (o, cb) => {
          const s = net.connect(o.port, '127.0.0.1', () => {
            cb(null, { connection: s });
            setImmediate(() => s.destroy(Object.assign(new Error('wire cut'), { code: 'ECONNRESET' })));
          });
        },
      });
      await assert.rejects(t2.sendMail(msg()), { code: 'ESOCKET', message: 'wire cut', errno: 'ECONNRESET' });
    } finally {
      await raw.close();
    }
  });

  test('Rust ends and destroys the JS socket when the session is over', async () => {
    await withSmtpServer(async (srv) => {
      let socket;
      const t = createTransport({
        host: 'localhost',
        port: srv.port,
        ignoreTLS: true,
        getSocket: (o, cb) => {
          socket = net.connect(o.port, '127.0.0.1', () => cb(null, { connection: socket }));
        },
      });
      await t.sendMail(msg());
      await new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', resolve)));
      assert.equal(socket.destroyed, true);
    });
    // a session that fails on the Rust side (no greeting) destroys the socket too
    const mute = await startRawServer(async (c) => {
      await c.readLine();
    });
    try {
      let socket;
      const t = createTransport({
        host: 'localhost',
        port: mute.port,
        greetingTimeout: 300,
        getSocket: (o, cb) => {
          socket = net.connect(o.port, '127.0.0.1', () => cb(null, { connection: socket }));
        },
      });
      await assert.rejects(t.sendMail(msg()), { code: 'ETIMEDOUT', message: 'Greeting never received' });
      await new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', resolve)));
      assert.equal(socket.destroyed, true);
    } finally {
      await mute.close();
    }
  });

  test('backpressure: a slow socket bounds what Rust hands it; 2 MB arrive intact', async () => {
    await withSmtpServer(async (srv) => {
      let outstanding = 0;
      let max = 0;
      const t = createTransport({
        host: 'localhost',
        port: srv.port,
        ignoreTLS: true,
        getSocket: (o, cb) => {
          const s = net.connect(o.port, '127.0.0.1', () => {
            const slow = new Duplex({
              write(chunk, enc, done) {
                outstanding += chunk.length;
                max = Math.max(max, outstanding);
                setTimeout(() => {
                  outstanding -= chunk.length;
                  s.write(chunk, done);
                }, 2);
              },
              read() {},
              final(done) {
                s.end();
                done();
              },
              destroy(err, done) {
                s.destroy();
                done(err);
              },
            });
            s.on('data', (c) => slow.push(c));
            s.on('end', () => slow.push(null));
            cb(null, { connection: slow });
          });
        },
      });
      const text = 'abcdefghij'.repeat(200000);
      await t.sendMail(msg(0, { text }));
      assert.ok(srv.messages[0].raw.toString().includes('abcdefghij'.repeat(7)));
      assert.ok(max > 0 && max <= 320 * 1024, `at most ${max} bytes were waiting in the socket`);
    });
  });

  test('pool: getSocket once per pooled connection', async () => {
    await withSmtpServer(async (srv) => {
      const calls = [];
      const t = createTransport({ pool: true, maxConnections: 2, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, getSocket: netGetSocket(calls) });
      const infos = await Promise.all(Array.from({ length: 8 }, (_, i) => t.sendMail(msg(i))));
      assert.equal(infos.length, 8);
      assert.ok(calls.length >= 1 && calls.length <= 2, `getSocket calls: ${calls.length}`);
      assert.equal(srv.connections.size, calls.length);
      t.close();
    });
  });

  test('a script sending through getSocket exits by itself', () => {
    const script = `
      import net from 'node:net';
      import { createTransport } from ${JSON.stringify(fileURLToPath(new URL('../index.mjs', import.meta.url)))};
      import { startSmtpServer } from ${JSON.stringify(fileURLToPath(new URL('./helpers/smtp.mjs', import.meta.url)))};
      const srv = await startSmtpServer({ authOptional: true });
      const t = createTransport({ host: 'localhost', port: srv.port, ignoreTLS: true,
        getSocket: (o, cb) => { const s = net.connect(o.port, '127.0.0.1', () => cb(null, { connection: s })); } });
      await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
      await srv.close();
      console.log('sent');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.stdout.trim(), 'sent', r.stderr);
    assert.equal(r.status, 0, `exit status ${r.status} signal ${r.signal}`);
  });
});
