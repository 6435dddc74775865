// SMTP transport against real servers on loopback: smtp-server (STARTTLS with the committed test
// certificates, implicit TLS, AUTH, PIPELINING, SIZE, 8BITMIME, SMTPUTF8, LMTP) and scripted raw
// servers for byte-exact misbehaviour.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer, { createTransport } from '../index.mjs';
import { startSmtpServer } from './helpers/smtp.mjs';
import { startRawServer } from './helpers/raw.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ca = fs.readFileSync(path.join(here, 'fixtures', 'ca.pem'), 'utf8');

const msg = (extra = {}) => ({
  from: 'Sender <sender@example.com>',
  to: 'Rcpt <rcpt@example.com>',
  subject: 'Hello',
  text: 'Hello world',
  ...extra,
});
// Time that must pass, not events: a server pausing inside a reply (so that its two parts
// arrive in separate reads), and the window after the first callback in which a second one
// (which must never come) is waited for.
const SPLIT_REPLY_PAUSE_MS = 20;
const SECOND_CALLBACK_WINDOW_MS = 100;
const SECOND_CALLBACK_WINDOW_PER_STEP_MS = 50; // shorter where a test waits once per protocol step

describe('module shape', () => {
  test('ESM default and named exports are the CJS module', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const cjs = require('../index.js');
    assert.equal(typeof cjs.createTransport, 'function');
    assert.equal(nodemailer.createTransport, cjs.createTransport);
    assert.equal(createTransport, cjs.createTransport);
  });
});

describe('sending through smtp-server', () => {
  test('STARTTLS + AUTH PLAIN: info has nodemailer shape and the server got the message', async () => {
    const srv = await startSmtpServer({ users: { alice: 'secret' }, authMethods: ['PLAIN', 'LOGIN'] });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, auth: { user: 'alice', pass: 'secret' }, tls: { ca } });
      const info = await t.sendMail(msg({ cc: 'cc@example.com', bcc: 'hidden@example.com' }));
      assert.deepEqual(info.accepted, ['rcpt@example.com', 'cc@example.com', 'hidden@example.com']);
      assert.deepEqual(info.rejected, []);
      assert.equal(info.rejectedErrors, undefined);
      assert.ok(Array.isArray(info.ehlo) && info.ehlo.some((l) => /^AUTH /.test(l)), `ehlo: ${info.ehlo}`);
      assert.match(info.response, /^250 /);
      assert.deepEqual(info.envelope, { from: 'sender@example.com', to: ['rcpt@example.com', 'cc@example.com', 'hidden@example.com'] });
      assert.match(info.messageId, /^<[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@example\.com>$/);
      for (const k of ['envelopeTime', 'messageTime', 'messageSize']) assert.equal(typeof info[k], 'number');
      assert.equal(srv.messages.length, 1);
      const m = srv.messages[0];
      assert.equal(m.user, 'alice');
      assert.equal(m.secure, true, 'the session was upgraded with STARTTLS');
      assert.equal(m.raw.length, info.messageSize - 3, 'messageSize counts the body plus ".\\r\\n"');
      const raw = m.raw.toString();
      assert.match(raw, /^Subject: Hello\r$/m);
      assert.doesNotMatch(raw, /hidden@example\.com/, 'Bcc is never written');
      assert.match(raw, /\r\n\r\nHello world\r\n$/);
    } finally {
      await srv.close();
    }
  });

  test('AUTH LOGIN and CRAM-MD5 chosen by auth.method, wrong password is EAUTH', async () => {
    const srv = await startSmtpServer({ users: { bob: 'pw' }, authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'] });
    try {
      for (const method of ['LOGIN', 'CRAM-MD5', 'PLAIN']) {
        const t = createTransport({ port: srv.port, host: 'localhost', auth: { user: 'bob', pass: 'pw', method }, tls: { ca } });
        const info = await t.sendMail(msg());
        assert.deepEqual(info.accepted, ['rcpt@example.com'], method);
      }
      assert.deepEqual(srv.authAttempts.map((a) => a.method), ['LOGIN', 'CRAM-MD5', 'PLAIN']);
      const bad = createTransport({ port: srv.port, host: 'localhost', auth: { user: 'bob', pass: 'nope' }, tls: { ca } });
      await assert.rejects(bad.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.equal(err.command, 'AUTH PLAIN');
        assert.equal(err.responseCode, 535);
        assert.match(err.message, /^Invalid login: 535/);
        assert.ok(!err.message.includes('nope'));
        return true;
      });
    } finally {
      await srv.close();
    }
  });

  test('implicit TLS (secure: true) and certificate verification', async () => {
    const srv = await startSmtpServer({ secure: true, authOptional: true });
    try {
      const ok = createTransport({ host: 'localhost', port: srv.port, secure: true, tls: { ca } });
      const info = await ok.sendMail(msg());
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
      assert.equal(srv.messages[0].secure, true);
      // Without the CA the certificate is not trusted: ETLS, never a plaintext fallback.
      const strict = createTransport({ host: 'localhost', port: srv.port, secure: true, connectionTimeout: 5000 });
      await assert.rejects(strict.sendMail(msg()), (err) => {
        assert.ok(['ETLS', 'ESOCKET'].includes(err.code), err.code);
        return true;
      });
      const insecure = createTransport({ host: 'localhost', port: srv.port, secure: true, tls: { rejectUnauthorized: false } });
      assert.deepEqual((await insecure.sendMail(msg())).accepted, ['rcpt@example.com']);
    } finally {
      await srv.close();
    }
  });

  test('partial and total recipient rejection', async () => {
    const srv = await startSmtpServer({ authOptional: true, rejectRcpt: (addr) => addr.startsWith('bad') });
    try {
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca } });
      const info = await t.sendMail(msg({ to: ['good@example.com', 'bad1@example.com', 'bad2@example.com'] }));
      assert.deepEqual(info.accepted, ['good@example.com']);
      assert.deepEqual(info.rejected, ['bad1@example.com', 'bad2@example.com']);
      assert.equal(info.rejectedErrors.length, 2);
      assert.ok(info.rejectedErrors[0] instanceof Error);
      assert.equal(info.rejectedErrors[0].code, 'EENVELOPE');
      assert.equal(info.rejectedErrors[0].command, 'RCPT TO');
      assert.equal(info.rejectedErrors[0].recipient, 'bad1@example.com');
      assert.deepEqual(info.envelope.to, ['good@example.com', 'bad1@example.com', 'bad2@example.com']);

      await assert.rejects(t.sendMail(msg({ to: ['bad3@example.com', 'bad4@example.com'] })), (err) => {
        assert.equal(err.code, 'EENVELOPE');
        assert.equal(err.command, 'RCPT TO');
        assert.match(err.message, /^Can't send mail - all recipients were rejected: 5\d\d/);
        assert.deepEqual(err.rejected, ['bad3@example.com', 'bad4@example.com']);
        assert.equal(err.rejectedErrors.length, 2);
        return true;
      });
    } finally {
      await srv.close();
    }
  });

  test('PIPELINING on and off deliver the same', async () => {
    for (const hidePIPELINING of [false, true]) {
      const srv = await startSmtpServer({ authOptional: true, hidePIPELINING });
      try {
        const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca } });
        const info = await t.sendMail(msg({ to: ['a@example.com', 'b@example.com', 'c@example.com'] }));
        assert.deepEqual(info.accepted, ['a@example.com', 'b@example.com', 'c@example.com']);
        assert.equal(info.ehlo.includes('PIPELINING'), !hidePIPELINING);
        assert.equal(srv.messages.length, 1);
      } finally {
        await srv.close();
      }
    }
  });

  test('large string bodies (composed off the JS thread) arrive intact, pooled and not, with DKIM-free and small messages around them', async () => {
    const { simpleParser } = await import('mailparser');
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const big = 'Grüße, line with a . and = sign\n'.repeat(20000); // ~660 KB of text
      const attachment = 'x'.repeat(300 * 1024);
      for (const pool of [false, true]) {
        const t = createTransport({ pool, host: 'localhost', port: srv.port, tls: { ca } });
        const infos = await Promise.all([
          t.sendMail(msg({ subject: 'small 1' })),
          t.sendMail(msg({ subject: 'big', text: big, html: `<pre>${big}</pre>`, attachments: [{ filename: 'x.txt', content: attachment }] })),
          t.sendMail(msg({ subject: 'small 2' })),
        ]);
        assert.equal(infos.length, 3);
        t.close();
      }
      assert.equal(srv.messages.length, 6);
      const parsed = await Promise.all(srv.messages.map((m) => simpleParser(m.raw)));
      const bigOnes = parsed.filter((p) => p.subject === 'big');
      assert.equal(bigOnes.length, 2);
      for (const p of bigOnes) {
        assert.equal(p.text, big);
        assert.equal(p.html, `<pre>${big}</pre>`);
        assert.equal(p.attachments[0].content.toString(), attachment);
      }
      // a large message with no recipients still fails with nodemailer's error
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca } });
      await assert.rejects(t.sendMail({ from: 'a@example.com', text: big }), (e) => e.code === 'EENVELOPE' && /No recipients defined/.test(e.message));
    } finally {
      await srv.close();
    }
  });

  test('SIZE: a declared size over the limit fails before MAIL FROM; a too-large message is EMESSAGE', async () => {
    const srv = await startSmtpServer({ authOptional: true, size: 1024 });
    try {
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca } });
      await assert.rejects(t.sendMail(msg({ envelope: { from: 'a@example.com', to: 'b@example.com', size: 5000 } })), (err) => {
        assert.equal(err.code, 'EMESSAGE');
        assert.equal(err.command, 'MAIL FROM');
        assert.match(err.message, /^Message size larger than allowed 1024/);
        return true;
      });
      await assert.rejects(t.sendMail(msg({ text: 'x'.repeat(5000) })), (err) => {
        assert.equal(err.code, 'EMESSAGE');
        assert.equal(err.command, 'DATA');
        assert.match(err.message, /^Message failed: 552/);
        return true;
      });
      assert.equal(srv.messages.length, 0);
    } finally {
      await srv.close();
    }
  });

  test('8BITMIME and SMTPUTF8 parameters, LMTP per-recipient replies', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca } });
      await t.sendMail(msg({ envelope: { from: 'a@example.com', to: 'b@example.com', use8BitMime: true } }));
      assert.equal(srv.messages[0].envelope.mailFrom.args.BODY, '8BITMIME');
      await t.sendMail(msg({ from: 'õ@example.com', to: 'b@example.com' }));
      assert.equal(srv.messages[1].envelope.mailFrom.args.SMTPUTF8, true);
      assert.equal(srv.messages[1].envelope.mailFrom.address, 'õ@example.com');
    } finally {
      await srv.close();
    }
    const lmtp = await startSmtpServer({ authOptional: true, lmtp: true, rejectData: (rcpt) => rcpt.startsWith('no') });
    try {
      const t = createTransport({ host: 'localhost', port: lmtp.port, lmtp: true, tls: { ca } });
      const info = await t.sendMail(msg({ to: ['yes@example.com', 'no@example.com'] }));
      assert.deepEqual(info.accepted, ['yes@example.com']);
      assert.deepEqual(info.rejected, ['no@example.com']);
      assert.equal(info.rejectedErrors[0].code, 'EMESSAGE');
      assert.match(info.rejectedErrors[0].message, /^Message failed for recipient no@example\.com/);
    } finally {
      await lmtp.close();
    }
  });

  test('verify(): promise and callback, ENOAUTH with forceAuth and no credentials', async () => {
    const srv = await startSmtpServer({ users: { u: 'p' } });
    try {
      assert.equal(await createTransport({ host: 'localhost', port: srv.port, auth: { user: 'u', pass: 'p' }, tls: { ca } }).verify(), true);
      await new Promise((resolve, reject) =>
        createTransport({ host: 'localhost', port: srv.port, auth: { user: 'u', pass: 'p' }, tls: { ca } }).verify((err, ok) =>
          err ? reject(err) : (assert.equal(ok, true), resolve())
        )
      );
      await assert.rejects(createTransport({ host: 'localhost', port: srv.port, forceAuth: true, tls: { ca } }).verify(), (err) => {
        assert.equal(err.code, 'ENOAUTH');
        return true;
      });
      await assert.rejects(createTransport({ host: 'localhost', port: srv.port, auth: { user: 'u', pass: 'x' }, tls: { ca } }).verify(), { code: 'EAUTH' });
    } finally {
      await srv.close();
    }
  });

  test('sendMail with a callback returns undefined and calls back once', async () => {
    const srv = await startSmtpServer({ authOptional: true });
    try {
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca } });
      let calls = 0;
      const ret = await new Promise((resolve, reject) => {
        const r = t.sendMail(msg(), (err, info) => {
          calls++;
          if (err) return reject(err);
          assert.deepEqual(info.accepted, ['rcpt@example.com']);
          resolve(r);
        });
      });
      assert.equal(ret, undefined);
      assert.equal(calls, 1);
    } finally {
      await srv.close();
    }
  });

  test('URL form with percent-decoded credentials, and defaults merged into messages', async () => {
    const srv = await startSmtpServer({ users: { 'us@er': 'p:ss' } });
    try {
      const t = createTransport(`smtp://us%40er:p%3Ass@localhost:${srv.port}/?tls.rejectUnauthorized=false`, {
        from: 'default@example.com',
        headers: { 'X-Default': 'yes' },
      });
      const info = await t.sendMail({ to: 'x@example.com', subject: 's', text: 't', headers: { 'X-Own': '1' } });
      assert.equal(info.envelope.from, 'default@example.com');
      assert.equal(srv.messages[0].user, 'us@er');
      const raw = srv.messages[0].raw.toString();
      assert.match(raw, /^X-Default: yes\r$/m);
      assert.match(raw, /^X-Own: 1\r$/m);
    } finally {
      await srv.close();
    }
  });

  test('auth is skipped when the server offers none; forceAuth makes it an error', async () => {
    const srv = await startSmtpServer({ authOptional: true, disabledCommands: ['AUTH'] });
    try {
      const t = createTransport({ host: 'localhost', port: srv.port, auth: { user: 'zzz' }, tls: { ca } });
      assert.deepEqual((await t.sendMail(msg())).accepted, ['rcpt@example.com']);
      const f = createTransport({ host: 'localhost', port: srv.port, auth: { user: 'zzz' }, forceAuth: true, tls: { ca } });
      await assert.rejects(f.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.match(err.message, /^Missing credentials for "PLAIN"/);
        return true;
      });
    } finally {
      await srv.close();
    }
  });

  test('well-known service lookup is applied as nodemailer applies it', () => {
    const t = createTransport({ service: 'google mail', port: 587, secure: false, auth: { user: 'a', pass: 'b' } });
    assert.equal(t.transporter.options.host, 'smtp.gmail.com');
    assert.equal(t.transporter.options.port, 465);
    assert.equal(t.transporter.options.secure, true);
    assert.equal(t.transporter.name, 'SMTP');
    t.close();
  });
});

describe('scripted servers (byte-exact)', () => {
  // A minimal well-behaved script; tests override single steps.
  const crlf = (parts) => Buffer.concat([...parts.flatMap((p) => [Buffer.from(p), Buffer.from('\r\n')])]);
  async function happy(c, { greet = true, ehlo = ['250-localhost', '250-PIPELINING', '250 8BITMIME'], helo = ['250 localhost'], onData } = {}) {
    if (greet) await c.write('220 localhost ESMTP\r\n');
    for (;;) {
      const line = await c.readLine();
      if (line === null) return;
      if (/^EHLO /i.test(line)) await c.write(crlf(ehlo));
      else if (/^HELO /i.test(line)) await c.write(crlf(helo));
      else if (/^MAIL FROM/i.test(line)) await c.write('250 OK\r\n');
      else if (/^RCPT TO/i.test(line)) await c.write('250 OK\r\n');
      else if (/^DATA/i.test(line)) {
        await c.write('354 go\r\n');
        const lines = [];
        for (;;) {
          const l = await c.readLine();
          if (l === null || l === '.') break;
          lines.push(l);
        }
        if (onData) onData(lines);
        await c.write('250 2.0.0 Ok: queued as ABC\r\n');
      } else if (/^QUIT/i.test(line)) {
        await c.write('221 bye\r\n');
        return c.end();
      } else await c.write('502 unknown\r\n');
    }
  }

  test('replies split across writes, multi-line with invalid UTF-8, HELO fallback', async () => {
    const srv = await startRawServer(async (c) => {
      await c.write('220 local');
      await new Promise((r) => setTimeout(r, SPLIT_REPLY_PAUSE_MS));
      await c.write('host ESMTP\r\n');
      await happy(c, {
        greet: false,
        ehlo: ['502 5.5.2 EHLO not here'],
        helo: [Buffer.concat([Buffer.from('250-hello '), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n250 ok')])],
      });
    });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, greetingTimeout: 2000, socketTimeout: 3000 });
      const info = await t.sendMail(msg());
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
      assert.equal(info.ehlo, undefined, 'no EHLO lines after a HELO fallback');
      assert.ok(srv.received.some((l) => /^HELO /.test(l)));
    } finally {
      await srv.close();
    }
  });

  test('a server that never greets hits greetingTimeout (ETIMEDOUT), exactly once', async () => {
    // never greets: waits, silent, until the client hangs up
    const srv = await startRawServer(async (c) => {
      while ((await c.readLine()) !== null);
      c.destroy();
    });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, greetingTimeout: 300 });
      let calls = 0;
      const err = await new Promise((resolve) => t.sendMail(msg(), (e) => (calls++, resolve(e))));
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.message, 'Greeting never received');
      assert.equal(err.command, 'CONN');
      await new Promise((r) => setTimeout(r, SECOND_CALLBACK_WINDOW_MS));
      assert.equal(calls, 1);
    } finally {
      await srv.close();
    }
  });

  test('a stall after DATA hits socketTimeout', async () => {
    const srv = await startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^EHLO/.test(line)) await c.write('250 x\r\n');
        else if (/^DATA/.test(line)) return; // never answers
        else await c.write('250 OK\r\n');
      }
    });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, socketTimeout: 300 });
      await assert.rejects(t.sendMail(msg()), (err) => {
        assert.equal(err.code, 'ETIMEDOUT');
        return true;
      });
    } finally {
      await srv.close();
    }
  });

  test('connection refused is ESOCKET with the OS error kept', async () => {
    const srv = await startRawServer(async () => {});
    const port = srv.port;
    await srv.close();
    const t = createTransport({ host: '127.0.0.1', port });
    await assert.rejects(t.sendMail(msg()), (err) => {
      assert.equal(err.code, 'ESOCKET');
      assert.equal(err.command, 'CONN');
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
  });

  test('a drop at each protocol step settles once with an error', async () => {
    const steps = ['greeting', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'body'];
    for (const step of steps) {
      const srv = await startRawServer(async (c) => {
        if (step === 'greeting') return c.destroy();
        await c.write('220 x ESMTP\r\n');
        for (;;) {
          const line = await c.readLine();
          if (line === null) return;
          const cmd = line.split(/[ :]/)[0].toUpperCase();
          if (cmd === step) return c.destroy();
          if (cmd === 'EHLO') await c.write('250 x\r\n');
          else if (cmd === 'DATA') {
            await c.write('354 go\r\n');
            if (step === 'body') {
              await c.readLine();
              return c.destroy();
            }
          } else await c.write('250 OK\r\n');
        }
      });
      try {
        const t = createTransport({ host: '127.0.0.1', port: srv.port, socketTimeout: 3000 });
        let calls = 0;
        const err = await new Promise((resolve) => t.sendMail(msg(), (e) => (calls++, resolve(e))));
        assert.ok(err instanceof Error, `step ${step}`);
        assert.ok(['ECONNECTION', 'ESOCKET', 'EPROTOCOL'].includes(err.code), `step ${step}: ${err.code} ${err.message}`);
        await new Promise((r) => setTimeout(r, SECOND_CALLBACK_WINDOW_PER_STEP_MS));
        assert.equal(calls, 1);
      } finally {
        await srv.close();
      }
    }
  });

  test('requireTLS against a server without STARTTLS fails and never sends AUTH', async () => {
    const srv = await startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^EHLO/.test(line)) await c.write('250-x\r\n250 AUTH PLAIN\r\n');
        else if (/^STARTTLS/.test(line)) await c.write('502 no tls here\r\n');
        else await c.write('250 OK\r\n');
      }
    });
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, requireTLS: true, auth: { user: 'u', pass: 'secret-pass' } });
      await assert.rejects(t.sendMail(msg()), (err) => {
        assert.equal(err.code, 'ETLS');
        assert.equal(err.command, 'STARTTLS');
        return true;
      });
      assert.ok(!srv.received.some((l) => /^AUTH/.test(l)), 'no AUTH before TLS');
    } finally {
      await srv.close();
    }
  });

  test('dot-stuffing and bare LF normalisation reach the server as one message', async () => {
    let got;
    const srv = await startRawServer((c) => happy(c, { onData: (lines) => (got = lines) }));
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port });
      const raw = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: dots\r\n\r\n.leading dot\nbare lf\n.\nafter\r\n';
      const info = await t.sendMail({ envelope: { from: 'a@example.com', to: 'b@example.com' }, raw });
      assert.deepEqual(got.slice(-4), ['..leading dot', 'bare lf', '..', 'after']);
      assert.equal(info.response, '250 2.0.0 Ok: queued as ABC');
    } finally {
      await srv.close();
    }
  });

  test('CR/LF in the EHLO name and in addresses cannot inject commands', async () => {
    const srv = await startRawServer((c) => happy(c));
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, name: 'evil\r\nRSET\r\nhost' });
      await t.sendMail(msg()).catch(() => {});
      assert.ok(!srv.received.includes('RSET'), srv.received.join('|'));
      assert.ok(srv.received.some((l) => /^EHLO evilRSEThost$/.test(l)));
      // CR/LF in addresses and headers: parsed as nodemailer parses them (a group name here), never a new
      // command or header line.
      const before = srv.received.length;
      const info = await t.sendMail({
        from: 'a@example.com',
        to: 'b@example.com>\r\nRCPT TO:<c@example.com',
        subject: 'x\r\nBcc: evil@example.com',
        text: 'x',
      });
      assert.deepEqual(info.envelope.to, ['c@example.com']);
      const lines = srv.received.slice(before);
      assert.equal(lines.filter((l) => /^RCPT TO:/.test(l)).length, 1);
      assert.ok(lines.includes('Subject: x Bcc: evil@example.com'), lines.join('|'));
      assert.ok(!lines.some((l) => /^Bcc:/i.test(l)));
    } finally {
      await srv.close();
    }
  });
});
