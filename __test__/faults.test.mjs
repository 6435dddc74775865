// Fault injection (issue 7): scripted servers that drop, stall, refuse or talk garbage at every
// protocol step, TLS that cannot be set up, handle leaks, and bad options/messages. Every send must
// settle exactly once with nodemailer's error code (lib/errors.js codes), no unhandled rejection, no crash.
// Every server listens on 127.0.0.1 and every wait is bounded by a timeout.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTransport } from '../index.mjs';
import { startRawServer } from './helpers/raw.mjs';
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { within } from './helpers/wait.mjs';
import { runModule } from './helpers/child.mjs';

const msg = (extra = {}) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: 'Hi', text: 'Hello', ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Time that must pass, not an event to wait for: a second callback or a late unhandled rejection
// is checked for by letting this window pass after the first settlement (a broken "settles
// exactly once" shows up within it; a longer window only makes every test slower).
const SECOND_CALLBACK_WINDOW_MS = 100;
const LATE_REJECTION_WINDOW_MS = 50;

let unhandled = 0;
const onUnhandled = () => unhandled++;
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

/**
 * Sends one message through the callback API, counts callback calls and waits
 * SECOND_CALLBACK_WINDOW_MS after the first one for a second (which must never come). Fails if
 * the first does not come within `limit` ms.
 */
async function sendOnce(t, message, limit = 8000) {
  let calls = 0;
  const result = await within(
    new Promise((resolve) => {
      t.sendMail(message, (err, info) => {
        calls++;
        resolve({ err, info });
      });
    }),
    { timeout: limit, what: 'sendMail to settle' }
  );
  await sleep(SECOND_CALLBACK_WINDOW_MS);
  return { ...result, calls };
}

// A well-behaved server with STARTTLS + AUTH PLAIN that drops the connection at `step`.
function dropAt(step) {
  return async (c) => {
    if (step === 'greeting') return c.destroy();
    await c.write('220 x ESMTP\r\n');
    for (;;) {
      const line = await c.readLine();
      if (line === null) return undefined;
      const cmd = line.split(/[ :]/)[0].toUpperCase();
      if (cmd === step) return c.destroy();
      if (cmd === 'EHLO') await c.write('250-x\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n');
      else if (cmd === 'STARTTLS') {
        await c.write('220 ready\r\n');
        if (step === 'TLS-after-220') return c.destroy();
        if (step === 'TLS-mid') {
          // the ClientHello record starts with 0x16: read it, then hang up mid-handshake
          await c.readUntil(Buffer.from([0x16]));
          return c.destroy();
        }
        await c.startTls();
      } else if (cmd === 'AUTH') await c.write('235 2.7.0 ok\r\n');
      else if (cmd === 'DATA') {
        await c.write('354 go\r\n');
        if (step === 'body') {
          await c.readLine();
          return c.destroy();
        }
        if (step === 'dot') {
          await c.readUntil('\r\n.\r\n');
          return c.destroy();
        }
      } else await c.write('250 OK\r\n');
    }
  };
}

describe('connection dropped at each protocol step', () => {
  // nodemailer: a close while upgrading is ETLS, any other unexpected close ECONNECTION; while the
  // client is still writing the body, the reset can surface first as a socket error (EPIPE,
  // ECONNRESET), which nodemailer codes ESOCKET
  const steps = [
    ['greeting', 'ECONNECTION'],
    ['EHLO', 'ECONNECTION'],
    ['TLS-after-220', 'ETLS'],
    ['TLS-mid', 'ETLS'],
    ['AUTH', 'ECONNECTION'],
    ['MAIL', 'ECONNECTION'],
    ['RCPT', 'ECONNECTION'],
    ['DATA', 'ECONNECTION'],
    ['body', ['ECONNECTION', 'ESOCKET']],
    ['dot', ['ECONNECTION', 'ESOCKET']],
  ];
  for (const pool of [false, true]) {
    test(`${pool ? 'pool' : 'single transport'}: each step settles once with its code`, async () => {
      for (const [step, code] of steps) {
        const srv = await startRawServer(dropAt(step));
        const t = createTransport({ pool, host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, auth: { user: 'u', pass: 'p' }, greetingTimeout: 2000, socketTimeout: 3000 });
        try {
          const { err, calls } = await sendOnce(t, msg());
          assert.equal(calls, 1, `step ${step}: callback calls`);
          assert.ok(err instanceof Error, `step ${step}: an error`);
          if (Array.isArray(code)) assert.ok(code.includes(err.code), `step ${step}: ${err.code} ${err.message}`);
          else assert.equal(err.code, code, `step ${step}: ${err.code} ${err.message}`);
          if (code === 'ETLS') assert.match(err.message, /^Error initiating TLS - /);
          if (!pool || ['greeting', 'EHLO', 'TLS-after-220', 'TLS-mid', 'AUTH', 'body', 'dot'].includes(step)) {
            // the body started (or the connection never became usable): never sent again
            assert.equal(srv.sessions.length, 1, `step ${step}: connections`);
          } else {
            // before the body the pool re-queues: nodemailer's maxRequeues default gives 6 attempts
            assert.equal(err.message, 'Reached maximum number of retries after connection was closed');
            assert.equal(srv.sessions.length, 6, `step ${step}: connections`);
          }
        } finally {
          if (pool) t.close();
          await srv.close();
        }
      }
    });
  }
});

describe('server refusals, stalls and garbage', () => {
  async function against(script, options, check) {
    const srv = await startRawServer(script);
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, greetingTimeout: 400, socketTimeout: 400, ...options });
      const started = Date.now();
      const { err, calls } = await sendOnce(t, msg());
      assert.equal(calls, 1);
      assert.ok(err instanceof Error, 'an error');
      check(err, Date.now() - started, srv);
    } finally {
      await srv.close();
    }
  }
  const greetThen = (...replies) => async (c) => {
    await c.write('220 x ESMTP\r\n');
    for (const r of replies) {
      if ((await c.readLine()) === null) return;
      await c.write(r);
    }
    await c.readLine();
  };

  test('421 at the greeting is EPROTOCOL "Invalid greeting" (reply twice)', () =>
    against(async (c) => {
      await c.write('421 4.3.2 busy\r\n');
      await c.readLine();
    }, {}, (err) => {
      assert.equal(err.code, 'EPROTOCOL');
      assert.equal(err.command, 'CONN');
      assert.equal(err.responseCode, 421);
      assert.equal(err.message, 'Invalid greeting. response=421 4.3.2 busy: 421 4.3.2 busy');
    }));

  test('421 to EHLO is ECONNECTION "Server terminates connection"', () =>
    against(greetThen('421 4.3.2 bye\r\n'), {}, (err) => {
      assert.equal(err.code, 'ECONNECTION');
      assert.equal(err.command, 'EHLO');
      assert.equal(err.responseCode, 421);
      assert.equal(err.message, 'Server terminates connection. response=421 4.3.2 bye: 421 4.3.2 bye');
    }));

  test('421 to MAIL FROM is EENVELOPE "Mail command failed"', () =>
    against(greetThen('250 x\r\n', '421 4.3.2 bye\r\n'), {}, (err) => {
      assert.equal(err.code, 'EENVELOPE');
      assert.equal(err.command, 'MAIL FROM');
      assert.equal(err.responseCode, 421);
      assert.equal(err.message, 'Mail command failed: 421 4.3.2 bye');
    }));

  test('a stall at the greeting ends at greetingTimeout', () =>
    against(async (c) => void (await c.readLine()), { greetingTimeout: 300, socketTimeout: 5000 }, (err, ms) => {
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.message, 'Greeting never received');
      assert.ok(ms >= 280 && ms < 2000, `${ms} ms`);
    }));

  test('a stall after EHLO ends at socketTimeout', () =>
    against(greetThen(), { greetingTimeout: 5000, socketTimeout: 300 }, (err, ms) => {
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.message, 'Timeout');
      assert.ok(ms >= 280 && ms < 2000, `${ms} ms`);
    }));

  test('garbage greeting: text and binary are EPROTOCOL', async () => {
    await against(async (c) => {
      await c.write('hello\r\n');
      await c.readLine();
    }, {}, (err) => {
      assert.equal(err.code, 'EPROTOCOL');
      assert.equal(err.message, 'Invalid greeting. response=hello: hello');
    });
    await against(async (c) => {
      await c.write(Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x0d, 0x0a]));
      await c.readLine();
    }, {}, (err) => {
      assert.equal(err.code, 'EPROTOCOL');
      assert.match(err.message, /^Invalid greeting\. response=/);
    });
  });

  test('garbage to EHLO falls back to HELO (as nodemailer); garbage to HELO is EPROTOCOL', () =>
    against(greetThen('hello\r\n', 'what?\r\n'), {}, (err, _ms, srv) => {
      assert.equal(err.code, 'EPROTOCOL');
      assert.equal(err.command, 'HELO');
      assert.equal(err.message, 'Invalid HELO. response=what?: what?');
      assert.ok(srv.received.some((l) => /^HELO /.test(l)));
    }));

  test('a 2 MB reply and a 10 MB line with no end are EPROTOCOL, bounded in memory', async () => {
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const line = '250-' + 'a'.repeat(1000) + '\r\n';
    await against(
      async (c) => {
        await c.write('220 x\r\n');
        await c.readLine();
        await c.write(line.repeat(2100) + '250 ok\r\n').catch(() => {});
        await c.readLine();
      },
      {},
      (err, ms) => {
        assert.equal(err.code, 'EPROTOCOL');
        assert.equal(err.message, 'Server response exceeds 1048576 bytes');
        assert.ok(ms < 2000, `${ms} ms: not a timeout`);
      }
    );
    const chunk = Buffer.alloc(100 * 1024, 'a');
    await against(
      async (c) => {
        await c.write('220 x\r\n');
        await c.readLine();
        await c.write('250 ');
        // 100 KiB at a time up to 10 MiB, never a line end; the client must give up on its own
        for (let i = 0; i < 100 && !c.socket.destroyed; i++) await c.write(chunk).catch(() => {});
        await c.readLine();
      },
      {},
      (err, ms) => {
        assert.equal(err.code, 'EPROTOCOL');
        assert.equal(err.message, 'Server response line exceeds 65536 bytes');
        assert.ok(ms < 2000, `${ms} ms: not a timeout`);
      }
    );
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 50 * 1024 * 1024, `rss grew by ${(grown / 1048576).toFixed(1)} MB`);
  });
});

describe('TLS that cannot be set up', () => {
  test('implicit TLS to a plaintext server is ESOCKET, as Node\'s TLS socket fails in nodemailer', async () => {
    const srv = await startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      await c.readLine();
    });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, secure: true, socketTimeout: 2000 });
      const { err, calls } = await sendOnce(t, msg());
      assert.equal(calls, 1);
      assert.equal(err.code, 'ESOCKET');
      assert.equal(err.command, 'CONN');
      assert.ok(err.message.length > 0);
    } finally {
      await srv.close();
    }
  });

  test('a certificate for another name is ESOCKET, implicit TLS and STARTTLS (the TLS socket\'s error, as nodemailer)', async () => {
    for (const secure of [true, false]) {
      const srv = await startSmtpServer({ secure, authOptional: true });
      try {
        // the certificate is for localhost/127.0.0.1; the client expects other.example
        const t = createTransport({ host: '127.0.0.1', port: srv.port, secure, tls: { ca: CERTS.ca, servername: 'other.example' } });
        const { err, calls } = await sendOnce(t, msg());
        assert.equal(calls, 1);
        assert.equal(err.code, 'ESOCKET', `secure=${secure}: ${err.message}`);
        assert.equal(err.command, 'CONN');
        assert.match(err.message, /not valid for name "other\.example"/);
        assert.equal(srv.messages.length, 0);
      } finally {
        await srv.close();
      }
    }
  });
});

const runChild = (code) => runModule(code);

describe('no handle leaks', () => {
  test('a batch of failing sends (single and pool + close) lets the process exit by itself', async () => {
    const servers = await Promise.all([
      startRawServer(dropAt('MAIL')),
      startRawServer(dropAt('body')),
      startRawServer(async (c) => {
        await c.write('421 busy\r\n');
        await c.readLine();
      }),
      startRawServer(async (c) => void (await c.readLine())), // never greets
      startRawServer(dropAt('TLS-mid')),
    ]);
    try {
      const ports = JSON.stringify(servers.map((s) => s.port));
      const code = `
        import { createTransport } from './index.mjs';
        const ports = ${ports};
        const ca = ${JSON.stringify(CERTS.ca)};
        const msg = { from: 'a@example.com', to: 'b@example.com', text: 'x' };
        const codes = [];
        for (const pool of [false, true]) {
          const ts = ports.map((port) => createTransport({ pool, host: 'localhost', port, tls: { ca }, auth: { user: 'u', pass: 'p' }, greetingTimeout: 300, socketTimeout: 1000 }));
          const rs = await Promise.allSettled(ts.flatMap((t) => [t.sendMail(msg), t.sendMail(msg)]));
          for (const r of rs) codes.push(r.status === 'rejected' ? r.reason.code : 'OK');
          if (pool) for (const t of ts) t.close();
        }
        console.log(codes.join(','));`;
      const started = Date.now();
      const r = await runChild(code);
      assert.equal(r.signal, null, `killed: the process did not exit by itself (${r.err})`);
      assert.equal(r.code, 0, r.err);
      const codes = r.out.trim().split(',');
      assert.equal(codes.length, 20);
      assert.ok(!codes.includes('OK'), r.out);
      assert.ok(Date.now() - started < 15000, `${Date.now() - started} ms`);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

describe('bad options and messages', () => {
  test('unknown types and invalid values give a clear error from sendMail, never a crash', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
      const expect = async (message, code, re) => {
        const { err, calls } = await sendOnce(t, message);
        assert.equal(calls, 1);
        assert.ok(err instanceof Error, `expected an error for ${String(message && message.to)}`);
        assert.equal(err.code, code, err.message);
        if (re) assert.match(err.message, re);
      };
      // as nodemailer (__test__/option-values.test.mjs): a number is no address, `headers: 5` is
      // ignored, a BigInt subject is its text; a Symbol as content fails the send
      await expect(msg({ to: 42 }), 'EENVELOPE', /^No recipients defined$/);
      await expect(msg({ text: Symbol('x') }), 'EMESSAGE', /^Invalid message: /);
      for (const odd of [{ headers: 5 }, { subject: 10n }]) {
        const { err, calls } = await sendOnce(t, msg(odd));
        assert.equal(calls, 1);
        assert.equal(err, null, err && err.message);
      }
      await expect(msg({ to: 'not an address' }), 'EENVELOPE', /^No recipients defined$/);
      // nodemailer hands a syntactically odd recipient to the server, which refuses it
      await expect(msg({ to: 'a@b@c' }), 'EENVELOPE', /^Can't send mail - all recipients were rejected: 501/);
      for (const bad of ['hello', null, 5]) await expect(bad, 'EENVELOPE', /^No recipients defined$/);
      // attachments: {} is one empty attachment in nodemailer ([].concat({})): delivered
      const { err, info } = await sendOnce(t, msg({ attachments: {} }));
      assert.equal(err, null);
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
      // no from: MAIL FROM:<> as nodemailer does
      const noFrom = await sendOnce(t, { to: 'rcpt@example.com', text: 'x' });
      assert.equal(noFrom.err, null);
      assert.equal(srv.messages.at(-1).envelope.mailFrom.address, '');
    } finally {
      await srv.close();
    }
  });

  test('auth: "x" and other odd option types: createTransport or sendMail errors, never a crash', async () => {
    const results = [];
    // host 42 is the IPv4 address 0.0.0.42 (as in node); the timeouts bound whatever answers there
    for (const options of [{ host: '127.0.0.1', port: 1, auth: 'x' }, { host: '127.0.0.1', port: 'abc' }, { host: 42, port: 1 }, { host: '127.0.0.1', port: 1, tls: 5 }]) {
      try {
        const t = createTransport({ connectionTimeout: 1000, greetingTimeout: 1000, socketTimeout: 1000, ...options });
        const { err, calls } = await sendOnce(t, msg());
        assert.equal(calls, 1);
        results.push(err && err.code);
      } catch (err) {
        assert.equal(err.code, 'ECONFIG', err.message);
        results.push('ECONFIG');
      }
    }
    for (const code of results) assert.ok(typeof code === 'string' && /^E[A-Z0-9]+$/.test(code), `codes: ${results}`);
  });

  test('unreadable file attachments fail with the fs error, nothing sent', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-faults-'));
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
      const cases = [
        [path.join(dir, 'missing.pdf'), /^ENOENT: no such file or directory, open '/],
        [dir, /directory/i],
      ];
      for (const [p, re] of cases) {
        const { err, calls } = await sendOnce(t, msg({ attachments: [{ path: p }] }));
        assert.equal(calls, 1);
        assert.ok(['ESTREAM', 'EFILEACCESS'].includes(err.code), `${p}: ${err.code}`);
        assert.match(err.message, re);
      }
      assert.equal(srv.messages.length, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await srv.close();
    }
  });

  test('a Readable content that errors midway is ESTREAM with the original message', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
      const failing = (text) => {
        const r = new Readable({ read() {} });
        r.push('first part ');
        setTimeout(() => r.destroy(new Error(text)), 30);
        return r;
      };
      for (const make of [() => msg({ text: failing('boom in text') }), () => msg({ attachments: [{ filename: 'a.txt', content: failing('boom in attachment') }] })]) {
        const { err, calls } = await sendOnce(t, make());
        assert.equal(calls, 1);
        assert.equal(err.code, 'ESTREAM');
        assert.match(err.message, /^boom in (text|attachment)$/);
      }
      assert.equal(srv.messages.length, 0);
    } finally {
      await srv.close();
    }
  });

  // found by this test (SIGSEGV in the binding's JS → serde walk), fixed in 42867f9 (lib/message.js)
  test('a circular or 100 000-deep message is an error, not a native stack overflow', async () => {
    for (const build of [
      "const m = { from: 'a@example.com', to: 'b@example.com', text: 'x' }; m.headers = { 'X-A': m };",
      "let to = 'b@example.com'; for (let i = 0; i < 100000; i++) to = [to]; const m = { from: 'a@example.com', to, text: 'x' };",
    ]) {
      const r = await runChild(`
        import { createTransport } from './index.mjs';
        ${build}
        try { await createTransport({ host: '127.0.0.1', port: 1 }).sendMail(m); console.log('sent'); }
        catch (e) { console.log('error ' + e.code); }`);
      assert.equal(r.signal, null, `${build}: killed by ${r.signal}`);
      assert.equal(r.code, 0, `${build}: exit ${r.code} ${r.err}`);
      assert.match(r.out.trim(), /^error E[A-Z]+$/);
    }
  });

  test('the process survived everything above with no unhandled rejection', async () => {
    await sleep(LATE_REJECTION_WINDOW_MS);
    assert.equal(unhandled, 0);
  });
});
