// Connection options, logging and process behaviour, against real servers on loopback.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { createTransport } from '../index.mjs';
import nodemailer from 'nodemailer';
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startRawServer } from './helpers/raw.mjs';
import { startMockOAuth } from './helpers/oauth.mjs';
import { within } from './helpers/wait.mjs';
import { runModule } from './helpers/child.mjs';

const msg = (extra = {}) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: 'Hi', text: 'Hello', ...extra });

/** A bunyan-style logger that records every call as text. */
function recordingLogger() {
  const lines = [];
  const logger = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = (entry, format, ...args) => lines.push({ level, entry, text: util.format(format, ...args) });
  }
  return { logger, lines };
}

const runChild = (code, env = {}, flags = [], talk) => runModule(code, { env, flags, talk, timeoutMs: 15_000 });

describe('TLS options', () => {
  test('ignoreTLS sends in plaintext even when STARTTLS is offered', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const info = await createTransport({ host: 'localhost', port: srv.port, ignoreTLS: true }).sendMail(msg());
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
      assert.equal(srv.messages[0].secure, false);
    } finally {
      await srv.close();
    }
  });

  test('client certificate (tls.cert/tls.key) presented to a server that requires one', async () => {
    const srv = await startSmtpServer({ secure: true, authOptional: true, requestCert: true, rejectUnauthorized: true, ca: CERTS.ca });
    try {
      const base = { host: 'localhost', port: srv.port, secure: true, connectionTimeout: 5000, greetingTimeout: 5000 };
      const info = await createTransport({ ...base, tls: { ca: CERTS.ca, cert: CERTS.clientCert, key: CERTS.clientKey } }).sendMail(msg());
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
      await assert.rejects(createTransport({ ...base, tls: { ca: CERTS.ca } }).sendMail(msg()));
    } finally {
      await srv.close();
    }
  });

  test('tls.minVersion TLSv1.3 and tls.servername', async () => {
    const srv = await startSmtpServer({ secure: true, authOptional: true });
    try {
      const info = await createTransport({
        host: '127.0.0.1',
        port: srv.port,
        secure: true,
        tls: { ca: CERTS.ca, minVersion: 'TLSv1.3', servername: 'localhost' },
      }).sendMail(msg());
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
    } finally {
      await srv.close();
    }
  });

  test('NODE_TLS_REJECT_UNAUTHORIZED=0 is honoured like Node does, with one warning', async () => {
    const srv = await startSmtpServer({ secure: true, authOptional: true });
    try {
      const code = `
        import { createTransport } from './index.mjs';
        const t = createTransport({ host: 'localhost', port: ${srv.port}, secure: true });
        const a = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
        const b = await createTransport({ host: 'localhost', port: ${srv.port}, secure: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
        console.log(a.accepted.length + b.accepted.length);`;
      const r = await runChild(code, { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), '2');
      assert.equal(r.err.match(/NODE_TLS_REJECT_UNAUTHORIZED/g)?.length, 1, r.err);
    } finally {
      await srv.close();
    }
  });

  test('opportunisticTLS: a refused STARTTLS continues in plaintext; without it, ETLS', async () => {
    const script = async (c) => {
      await c.write('220 x ESMTP\r\n');
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^EHLO/.test(line)) await c.write('250-x\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/.test(line)) await c.write('454 TLS not available now\r\n');
        else if (/^DATA/.test(line)) {
          await c.write('354 go\r\n');
          await c.readUntil('\r\n.\r\n');
          await c.write('250 queued\r\n');
        } else await c.write('250 OK\r\n');
      }
    };
    const srv = await startRawServer(script);
    try {
      const info = await createTransport({ host: '127.0.0.1', port: srv.port, opportunisticTLS: true }).sendMail(msg());
      assert.equal(info.response, '250 queued');
      await assert.rejects(createTransport({ host: '127.0.0.1', port: srv.port }).sendMail(msg()), (err) => {
        assert.equal(err.code, 'ETLS');
        assert.equal(err.command, 'STARTTLS');
        assert.match(err.message, /^Error upgrading connection with STARTTLS: 454/);
        return true;
      });
    } finally {
      await srv.close();
    }
  });
});

describe('options resolution', () => {
  // createTransport's input is resolved once, in Rust (URL, `url` key, service, nodemailer's
  // shared.assign): the Mail's options and the transport's options must be the objects
  // nodemailer 10.6.1 builds, with the user's own Buffers and functions in them.
  test('transporter.options and transporter.transporter.options as nodemailer builds them', () => {
    const ca = Buffer.from('CA');
    const fn = () => {};
    const inputs = [
      'smtp://h.example.com',
      'smtps://us%40er:p%3Ass@smtp.example.com:2525/?maxConnections=3&tls.rejectUnauthorized=false&name=foo',
      // the URL wins over the object's keys; its credentials merge into `auth`; its query names the service
      { url: 'smtp://u:p@h.example.com:25?service=gmail', logger: false, port: 99, auth: { type: 'login' }, tls: { ca } },
      { url: 'smtps://u:p@h.example.com', auth: { user: 'x', clientId: 'c' }, tls: false },
      // the service's host, port and secure win over the user's
      { service: 'Gmail', port: 587, secure: false, tls: { servername: 'x', ca: [ca] }, auth: { user: 'u', pass: 'p', provisionCallback: fn } },
      { service: 'gmail.com', auth: 'x' },
      { service: 'nope', host: 'h', tls: false, auth: null, getSocket: fn },
    ];
    for (const input of inputs) {
      const ours = createTransport(input);
      const theirs = nodemailer.createTransport(input);
      try {
        assert.deepStrictEqual(ours.options, theirs.options, `options of ${util.inspect(input)}`);
        assert.deepStrictEqual(ours.transporter.options, theirs.transporter.options, `transporter.options of ${util.inspect(input)}`);
      } finally {
        ours.close();
        theirs.close();
      }
    }
    // the user's values themselves, not copies
    const t = createTransport({ url: 'smtp://h.example.com', tls: { ca }, getSocket: fn, auth: { provisionCallback: fn } });
    assert.equal(t.options.tls.ca, ca);
    assert.equal(t.transporter.options.getSocket, fn);
    assert.equal(t.transporter.options.auth.provisionCallback, fn);
    t.close();
    // without a URL the Mail's options are the input object itself, as in nodemailer
    const input = { host: 'h' };
    const same = createTransport(input);
    assert.equal(same.options, input);
    same.close();
  });

  test('a URL or service nodemailer refuses throws the TypeError it throws', () => {
    assert.throws(() => createTransport('smtp://exa mple.com'), (err) => err instanceof TypeError && err.code === 'ERR_INVALID_URL' && err.message === 'Invalid URL');
    assert.throws(() => createTransport({ url: 'smtp://u:secret@exa mple.com' }), (err) => err instanceof TypeError && !err.message.includes('secret'));
    assert.throws(() => createTransport({ service: 5 }), (err) => err instanceof TypeError && err.message === 'The "service" option must be a string');
  });
});

describe('other connection options', () => {
  test('localAddress binds the client socket; name sets EHLO', async () => {
    const srv = await startRawServer(async (c) => {
      c.socket.write(`220 ${c.socket.remoteAddress}\r\n`);
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^DATA/.test(line)) {
          await c.write('354 go\r\n');
          await c.readUntil('\r\n.\r\n');
          await c.write('250 queued\r\n');
        } else await c.write('250 OK\r\n');
      }
    });
    try {
      await createTransport({ host: '127.0.0.1', port: srv.port, localAddress: '127.0.0.1', name: 'client.example.com' }).sendMail(msg());
      assert.ok(srv.received.includes('EHLO client.example.com'), srv.received.join('|'));
      await assert.rejects(createTransport({ host: '127.0.0.1', port: srv.port, localAddress: 'not-an-ip' }).sendMail(msg()), { code: 'ECONNECTION' }); // as net.connect's refusal in nodemailer
    } finally {
      await srv.close();
    }
  });

  test('DSN parameters are sent when the server advertises DSN', async () => {
    const srv = await startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^EHLO/.test(line)) await c.write('250-x\r\n250 DSN\r\n');
        else if (/^DATA/.test(line)) {
          await c.write('354 go\r\n');
          await c.readUntil('\r\n.\r\n');
          await c.write('250 queued\r\n');
        } else await c.write('250 OK\r\n');
      }
    });
    try {
      await createTransport({ host: '127.0.0.1', port: srv.port }).sendMail(
        msg({ dsn: { id: 'abc', return: 'headers', notify: ['success', 'failure'], recipient: 'sender@example.com' } })
      );
      assert.ok(srv.received.includes('MAIL FROM:<sender@example.com> RET=HDRS ENVID=abc'), srv.received.join('|'));
      assert.ok(srv.received.includes('RCPT TO:<rcpt@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;sender@example.com'), srv.received.join('|'));
      await assert.rejects(createTransport({ host: '127.0.0.1', port: srv.port }).sendMail(msg({ dsn: { notify: ['never', 'success'] } })), {
        code: 'EENVELOPE',
      });
    } finally {
      await srv.close();
    }
  });
});

describe('logging', () => {
  test('debug transcript through a bunyan-style logger, AUTH payloads masked, no secret anywhere', async () => {
    const oauth = await startMockOAuth();
    const srv = await startSmtpServer({ users: { alice: 'pa55-w0rd-secret' }, xoauth2: true, validTokens: oauth.issuedTokens });
    try {
      const { logger, lines } = recordingLogger();
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, logger, debug: true, auth: { user: 'alice', pass: 'pa55-w0rd-secret' } });
      await t.sendMail(msg());
      const o = createTransport({
        host: 'localhost',
        port: srv.port,
        tls: { ca: CERTS.ca },
        logger,
        debug: true,
        auth: { type: 'OAuth2', user: 'u@example.com', clientId: 'client-id-1', clientSecret: 'client-secret-value', refreshToken: 'refresh-token-value', accessUrl: oauth.tokenUrl },
      });
      const tokens = [];
      o.on('token', (tok) => tokens.push(tok.accessToken));
      await o.sendMail(msg());
      const text = lines.map((l) => l.text).join('\n');
      assert.ok(lines.some((l) => l.entry.tnx === 'client' && /^EHLO /.test(l.text)), 'client lines logged');
      assert.ok(lines.some((l) => l.entry.tnx === 'server' && /^250/.test(l.text)), 'server lines logged');
      // nodemailer's `sid`: a random id per connection
      const sids = new Set(lines.filter((l) => l.entry.tnx === 'client').map((l) => l.entry.sid));
      assert.equal(sids.size, 2, 'each connection has its own sid');
      assert.ok([...sids].every((c) => typeof c === 'string' && /^[A-Za-z0-9]{6,}$/.test(c)));
      assert.match(text, /AUTH PLAIN AGFsaWNlAC8qIHNlY3JldCAqLw==/, 'PLAIN payload replaced by /* secret */ before encoding');
      for (const secret of ['pa55-w0rd-secret', 'client-secret-value', 'refresh-token-value', tokens[0], Buffer.from('\0alice\0pa55-w0rd-secret').toString('base64')]) {
        assert.ok(secret && !text.includes(secret), `secret leaked: ${secret}`);
      }
    } finally {
      await srv.close();
      await oauth.close();
    }
  });

  test('logger: true prints to the console; no logger prints nothing', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const code = (logger) => `
        import { createTransport } from './index.mjs';
        await createTransport({ host: 'localhost', port: ${srv.port}, ignoreTLS: true, logger: ${logger} }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });`;
      const on = await runChild(code('true'));
      assert.equal(on.code, 0, on.err);
      assert.match(on.out, /INFO/);
      const off = await runChild(code('false'));
      assert.equal(off.code, 0, off.err);
      assert.equal(off.out, '');
    } finally {
      await srv.close();
    }
  });
});

describe('process behaviour', () => {
  test('the process exits by itself after sending (no handle kept alive), with or without close()', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      for (const close of ['', 't.close();']) {
        const code = `
          import { createTransport } from './index.mjs';
          const t = createTransport({ host: 'localhost', port: ${srv.port}, ignoreTLS: true });
          t.on('token', () => {});
          const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
          ${close}
          console.log(info.accepted.join(','));`;
        const started = Date.now();
        const r = await runChild(code);
        assert.equal(r.signal, null, 'not killed by the timeout');
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out.trim(), 'b@example.com');
        assert.ok(Date.now() - started < 10000);
      }
    } finally {
      await srv.close();
    }
  });

  test('a transporter dropped (and collected) mid-send still settles and lets the process exit', async () => {
    // The server holds the final reply and tells the child (a line on its stdin), the child runs
    // garbage collection and says so (a line on stderr), then the server replies: garbage
    // collection runs while the send is in flight.
    let child;
    let collected;
    const gcDone = new Promise((r) => (collected = r));
    const srv = await startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^DATA/.test(line)) {
          await c.write('354 go\r\n');
          await c.readUntil('\r\n.\r\n');
          child.stdin.write('held\n');
          await within(gcDone, { what: 'the child to run garbage collection' });
          await c.write('250 queued late\r\n');
        } else await c.write('250 OK\r\n');
      }
    });
    try {
      const code = `
        import { once } from 'node:events';
        import { createTransport } from './index.mjs';
        const p = createTransport({ host: '127.0.0.1', port: ${srv.port} }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
        await once(process.stdin, 'data');
        process.stdin.destroy();
        for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setImmediate(r)); }
        console.error('collected');
        const info = await p;
        console.log(info.response);`;
      const r = await runChild(code, {}, ['--expose-gc'], (c) => {
        child = c;
        c.stderr.on('data', (d) => String(d).includes('collected') && collected());
      });
      // the server's own wait failing is a failure of this test's set-up: say so
      if (srv.sessions[0]?.error) throw srv.sessions[0].error;
      assert.equal(r.signal, null, 'exited by itself');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), '250 queued late');
    } finally {
      await srv.close();
    }
  });

  test('bad input gives clear errors, not crashes', async () => {
    const t = createTransport({ host: '127.0.0.1', port: 1 });
    await assert.rejects(t.sendMail({ from: 'a@example.com', text: 'no recipients' }), (err) => {
      assert.equal(err.code, 'EENVELOPE');
      assert.match(err.message, /No recipients defined/);
      return true;
    });
    await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: [{ path: '/nonexistent/file.pdf' }] }));
    await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: 'not-an-array' }), (err) => {
      assert.ok(err instanceof Error);
      assert.ok(err.code, 'has a code');
      return true;
    });
    assert.throws(() => createTransport(42), { code: 'ECONFIG' });
    assert.throws(() => createTransport('ftp://example.com'), { code: 'ECONFIG' });
  });
});
