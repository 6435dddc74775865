// Drop-in fidelity details, each checked side by side with nodemailer 10.6.1 where nodemailer is
// the reference: per-message `newline`, defaults named like Object.prototype members, an
// access token's lifetime counted from createTransport.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mailer = require('../index.js');
const nodemailer = require('../node_modules/nodemailer');
const { simpleParser } = require('mailparser');
// mailparser's own decoder (it leaves unknown headers encoded)
const libmime = require('libmime');
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startMockOAuth } from './helpers/oauth.mjs';

const RAW = 'Subject: x\nX-Mixed: y\r\n\r\nline one\rcr\nline two\r\n';

async function streamed(mod, transportOpts, msg) {
  const t = mod.createTransport({ streamTransport: true, buffer: true, ...transportOpts });
  const info = await t.sendMail(msg);
  return info.message.toString('latin1');
}

describe('per-message newline (streamTransport)', () => {
  const transportValues = [undefined, 'windows', 'unix', '\n', '\r\n'];
  const messageValues = [undefined, 'unix', 'windows', 'linux', 'dos', 'win', '\n', '\r\n', 'anything'];
  for (const tnl of transportValues) {
    for (const mnl of messageValues) {
      test(`raw message, transport newline ${JSON.stringify(tnl)}, message newline ${JSON.stringify(mnl)}`, async () => {
        const msg = () => ({ envelope: { from: 'a@example.com', to: 'b@example.com' }, raw: RAW, newline: mnl });
        const [a, b] = await Promise.all([streamed(nodemailer, { newline: tnl }, msg()), streamed(mailer, { newline: tnl }, msg())]);
        assert.equal(JSON.stringify(b), JSON.stringify(a));
      });
    }
  }

  for (const mnl of ['unix', '\n', 'windows', '\r\n']) {
    test(`composed message with newline ${JSON.stringify(mnl)} (no transport newline)`, async () => {
      const msg = () => ({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'x',
        text: 'l1\nl2\r\nl3',
        html: '<p>x</p>',
        newline: mnl,
        messageId: '<fixed@example.com>',
        date: new Date(0),
      });
      const mask = (s) => s.replace(/_NmP-[0-9a-f]{16}-Part_/g, 'BOUNDARY');
      const [a, b] = await Promise.all([streamed(nodemailer, {}, msg()), streamed(mailer, {}, msg())]);
      assert.equal(JSON.stringify(mask(b)), JSON.stringify(mask(a)));
      const unix = mnl === 'unix' || mnl === '\n';
      assert.equal(b.includes('\r'), !unix);
    });
  }

  test('a message newline from the transport defaults applies too', async () => {
    const t = mailer.createTransport({ streamTransport: true, buffer: true }, { newline: 'unix' });
    const info = await t.sendMail({ envelope: { from: 'a@example.com', to: 'b@example.com' }, raw: 'A: b\r\n\r\nc\r\n' });
    assert.equal(info.message.toString(), 'A: b\n\nc\n');
  });
});

describe('numbers in a message are written as JS prints them', () => {
  // napi's own reading of a JS value saturated integral numbers at i64 (1e21 became
  // 9223372036854775807) and turned numbers within f64::EPSILON of an integer into it
  const NUMBERS = { '1e21': 1e21, '2**64': 2 ** 64, '-(2**70)': -(2 ** 70), '1e300': 1e300, '2**53+1': 9007199254740993, '1e-20': 1e-20 };
  const msg = (n) => ({
    from: 'a@example.com',
    to: 'b@example.com',
    subject: 'numbers',
    text: 't',
    messageId: '<numbers@example.com>',
    date: new Date(0),
    xMailer: n,
    headers: { 'X-N': n, 'X-L': [n, 1], 'X-P': { prepared: true, value: n } },
  });
  for (const [name, n] of Object.entries(NUMBERS)) {
    test(`${name}: streamTransport and jsonTransport output as nodemailer's`, async () => {
      for (const opts of [{}, { jsonTransport: true, streamTransport: false }]) {
        const [a, b] = await Promise.all([streamed(nodemailer, opts, msg(n)), streamed(mailer, opts, msg(n))]);
        assert.equal(b, a, JSON.stringify(opts));
      }
    });
  }
});

describe('defaults named like Object.prototype members', () => {
  const DEFAULTS = { constructor: 'C', toString: 'T', valueOf: 'V', hasOwnProperty: 'H', subject: 'S', headers: { constructor: 'HC', 'X-D': 'd' } };

  async function seen(mod) {
    const t = mod.createTransport({ streamTransport: true, buffer: true }, DEFAULTS);
    let data;
    t.use('compile', (mail, done) => {
      data = mail.data;
      done();
    });
    const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
    const pick = {};
    for (const k of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'subject']) {
      pick[k] = Object.prototype.hasOwnProperty.call(data, k) ? data[k] : '(not own)';
    }
    pick.headers = { ...data.headers };
    return { pick, head: info.message.toString().split('\r\n\r\n')[0] };
  }

  test('are applied and visible to compile plugins, as in nodemailer', async () => {
    const [a, b] = [await seen(nodemailer), await seen(mailer)];
    assert.deepEqual(b.pick, a.pick);
    assert.equal(b.pick.constructor, 'C');
    assert.equal(b.pick.toString, 'T');
    assert.equal(b.pick.headers.constructor, 'HC');
    // the header named "constructor" reaches the message
    assert.match(b.head, /^Constructor: HC$/m);
    assert.match(a.head, /^Constructor: HC$/m);
  });

  test('a message value still wins over the default', async () => {
    const t = mailer.createTransport({ streamTransport: true, buffer: true }, { constructor: 'C', subject: 'S' });
    let data;
    t.use('compile', (mail, done) => {
      data = mail.data;
      done();
    });
    await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', constructor: 'mine', subject: 'mine too' });
    assert.equal(data.constructor, 'mine');
    assert.equal(data.subject, 'mine too');
  });
});

describe('a supplied accessToken expires from createTransport', () => {
  // smtp-server accepts only tokens the endpoint issued; 'stale-token' is never valid, so a send
  // that used it would show a rejected AUTH attempt before the renewal.
  async function setup() {
    const oauth = await startMockOAuth();
    const smtp = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
    const auth = (extra) => ({
      type: 'OAuth2',
      user: 'user@example.com',
      clientId: 'id',
      clientSecret: 'secret',
      refreshToken: 'refresh',
      accessUrl: oauth.tokenUrl,
      accessToken: 'stale-token',
      ...extra,
    });
    const transport = (extra) => mailer.createTransport({ host: '127.0.0.1', port: smtp.port, tls: { ca: CERTS.ca }, auth: auth(extra) });
    return { oauth, smtp, transport, close: async () => (await smtp.close(), await oauth.close()) };
  }
  const msg = { from: 'user@example.com', to: 'rcpt@example.com', subject: 'x', text: 'y' };

  // (the `expires` case held before too: it is absolute; `timeout` counted from the first send)
  // `expiredAfterMs` is real time that must pass, not an event: the supplied token expires on the
  // clock, and what is checked is the first send after that moment.
  for (const [label, extra, expiredAfterMs] of [
    ['timeout of 1 s, send after 1.3 s', () => ({ timeout: 1 }), 1300],
    ['expires 200 ms from creation, send after 500 ms', () => ({ expires: Date.now() + 200 }), 500],
  ]) {
    test(`${label}: the first AUTH uses a fresh token, no rejected attempt`, async () => {
      const s = await setup();
      try {
        const t = s.transport(extra());
        await new Promise((r) => setTimeout(r, expiredAfterMs));
        await t.sendMail(msg);
        assert.equal(s.smtp.authAttempts.length, 1, JSON.stringify(s.smtp.authAttempts));
        assert.equal(s.smtp.authAttempts[0].ok, true);
        assert.notEqual(s.smtp.authAttempts[0].accessToken, 'stale-token');
        assert.equal(s.oauth.tokenRequests.length, 1);
      } finally {
        await s.close();
      }
    });
  }

  test('a token still valid is used without a request', async () => {
    const s = await setup();
    try {
      s.oauth.issuedTokens.add('stale-token');
      const t = s.transport({ timeout: 60 });
      await t.sendMail(msg);
      assert.equal(s.smtp.authAttempts[0].accessToken, 'stale-token');
      assert.equal(s.oauth.tokenRequests.length, 0);
    } finally {
      await s.close();
    }
  });
});

describe('stricter than nodemailer: header lines and encoded-word look-alikes', () => {
  const TOKEN = 'a'.repeat(1200);
  const headOf = (raw) => raw.toString('latin1').split('\r\n\r\n')[0];
  const maxLine = (raw) => Math.max(...headOf(raw).split('\r\n').map((l) => Buffer.byteLength(l, 'latin1')));
  const field = (p, name) => libmime.decodeWords(String(p.headers.get(name)));

  test('a 1,200-character token in a subject or header: no line over 998 octets, text intact (over SMTP)', async () => {
    const srv = await startSmtpServer({});
    try {
      const msg = () => ({ from: 'a@example.com', to: 'b@example.com', subject: `x ${TOKEN} y`, headers: { 'X-Long': TOKEN }, text: 'body' });
      // nodemailer writes the token on one 1,201-octet line
      const ref = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(msg());
      assert.ok(maxLine(ref.message) > 998);
      await mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }).sendMail(msg());
      const raw = srv.messages[0].raw;
      assert.ok(maxLine(raw) <= 998, `longest header line ${maxLine(raw)}`);
      const p = await simpleParser(raw);
      assert.equal(p.subject, `x ${TOKEN} y`);
      assert.equal(field(p, 'x-long'), TOKEN);
      // the short values are written as nodemailer writes them
      assert.match(headOf(raw), /^From: a@example\.com$/m);
    } finally {
      await srv.close();
    }
  });

  for (const subject of ['=?UTF-8?Q?x?=', 'hello =?UTF-8?B?aGk=?= there', 'price=?utf-8?q?free?=']) {
    test(`a subject that looks like an encoded word reaches the reader as written: ${subject}`, async () => {
      const info = await mailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', subject, text: 'x' });
      const p = await simpleParser(info.message);
      assert.equal(p.subject, subject);
      const ref = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', subject, text: 'x' });
      // nodemailer passes a valid one through and the reader decodes it
      if (subject === '=?UTF-8?Q?x?=') assert.equal((await simpleParser(ref.message)).subject, 'x');
    });
  }

  test('a header value that looks like an encoded word is encoded too', async () => {
    const info = await mailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', headers: { 'X-Tag': '=?UTF-8?Q?x?=' }, text: 'x' });
    const p = await simpleParser(info.message);
    assert.equal(field(p, 'x-tag'), '=?UTF-8?Q?x?=');
  });
});

describe('8-bit content is never sent undeclared (RFC 6152)', () => {
  const INNER = Buffer.from('From: x@example.com\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nhällo wörld\r\n');
  const msg = () => ({
    from: 'a@example.com',
    to: 'b@example.com',
    subject: 'forwarded',
    text: 'see attached',
    // as an attachment: mailparser reads an inline message/rfc822 part into the text
    attachments: [{ filename: 'fwd.eml', contentType: 'message/rfc822', contentDisposition: 'attachment', content: INNER }],
  });
  const has8bit = (buf) => buf.some((b) => b >= 0x80);

  for (const pool of [false, true]) {
    test(`server with 8BITMIME: BODY=8BITMIME declared, part sent as is${pool ? ' (pool)' : ''}`, async () => {
      const srv = await startSmtpServer({});
      try {
        const t = mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true, pool });
        await t.sendMail(msg());
        t.close();
        const m = srv.messages[0];
        assert.equal(m.envelope.mailFrom.args.BODY, '8BITMIME');
        assert.ok(has8bit(m.raw));
        const p = await simpleParser(m.raw);
        assert.ok(p.attachments[0].content.equals(INNER));
      } finally {
        await srv.close();
      }
    });

    test(`server without 8BITMIME: the part is base64, no 8-bit byte on the wire${pool ? ' (pool)' : ''}`, async () => {
      const srv = await startSmtpServer({ hide8BITMIME: true });
      try {
        const t = mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true, pool });
        await t.sendMail(msg());
        t.close();
        const m = srv.messages[0];
        assert.ok(!m.envelope.mailFrom.args || !m.envelope.mailFrom.args.BODY, JSON.stringify(m.envelope.mailFrom));
        assert.ok(!has8bit(m.raw), 'an 8-bit byte reached a server without 8BITMIME');
        assert.match(m.raw.toString('latin1'), /Content-Type: message\/rfc822[^\r]*\r\nContent-Transfer-Encoding: base64/);
        const p = await simpleParser(m.raw);
        assert.ok(p.attachments[0].content.equals(INNER));
      } finally {
        await srv.close();
      }
    });
  }

  test('nodemailer sends the same message without BODY=8BITMIME (the difference this fixes)', async () => {
    const srv = await startSmtpServer({});
    try {
      await nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }).sendMail(msg());
      assert.ok(!srv.messages[0].envelope.mailFrom.args || !srv.messages[0].envelope.mailFrom.args.BODY);
      assert.ok(has8bit(srv.messages[0].raw));
    } finally {
      await srv.close();
    }
  });

  test('a raw message with 8-bit bytes is declared where the server offers 8BITMIME', async () => {
    const srv = await startSmtpServer({});
    try {
      const raw = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: r\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n';
      await mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }).sendMail({ envelope: { from: 'a@example.com', to: 'b@example.com' }, raw });
      assert.equal(srv.messages[0].envelope.mailFrom.args.BODY, '8BITMIME');
    } finally {
      await srv.close();
    }
  });

  test('ASCII content keeps its MAIL FROM as before (no BODY parameter)', async () => {
    const srv = await startSmtpServer({});
    try {
      await mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }).sendMail({
        from: 'a@example.com',
        to: 'b@example.com',
        text: 'x',
        attachments: [{ contentType: 'message/rfc822', content: 'Subject: ascii\r\n\r\nonly ascii\r\n' }],
      });
      assert.ok(!srv.messages[0].envelope.mailFrom.args || !srv.messages[0].envelope.mailFrom.args.BODY);
    } finally {
      await srv.close();
    }
  });

  test('streamTransport output is unchanged (the part as is, as nodemailer writes it)', async () => {
    const info = await mailer.createTransport({ streamTransport: true, buffer: true }).sendMail(msg());
    assert.match(info.message.toString('latin1'), /Content-Type: message\/rfc822[^\r]*\r\nContent-Transfer-Encoding: 8bit/);
    assert.ok(has8bit(info.message));
  });
});
