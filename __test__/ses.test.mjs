// SES transport: the real @aws-sdk/client-sesv2 client, pointed at a local HTTP endpoint that
// plays SES v2 (POST /v2/email/outbound-emails, JSON in, { MessageId } out) and records every
// SendEmail request it receives. mailer-rs and nodemailer 10.6.1 are run side by side.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mailer = require('../index.js');
const nodemailer = require('../node_modules/nodemailer');
const { SESv2Client, SendEmailCommand } = require('@aws-sdk/client-sesv2');
const { simpleParser } = require('mailparser');

/** A fake SES v2 endpoint. `answer(body)` returns { status, type?, json } for each request. */
function startSes(answer) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as null: the test asserts on it
      }
      const r = { method: req.method, url: req.url, headers: req.headers, body };
      requests.push(r);
      const a = answer(r);
      const headers = { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID() };
      if (a.type) headers['x-amzn-errortype'] = a.type;
      res.writeHead(a.status, headers);
      res.end(JSON.stringify(a.json));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        requests,
        port: server.address().port,
        close: () => new Promise((r) => server.close(r)),
      })
    )
  );
}

function client(port, region = 'eu-west-1') {
  return new SESv2Client({
    endpoint: `http://127.0.0.1:${port}`,
    region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
  });
}

const ok = (id) => () => ({ status: 200, json: { MessageId: id } });

const message = () => ({
  from: { name: 'Sender Näme', address: 'sender@example.com' },
  to: 'to@example.com, "Zoë" <zoe@example.com>',
  cc: 'cc@example.com',
  bcc: 'hidden@example.com',
  subject: 'Hello SES',
  text: 'line one\nline two\n',
  html: '<p>hello</p>',
  attachments: [{ filename: 'a.txt', content: 'attached' }],
  ses: { ConfigurationSetName: 'my-set', EmailTags: [{ Name: 'tag', Value: 'v' }] },
});

describe('SES transport', () => {
  let ses;
  before(async () => {
    ses = await startSes(ok('0102018f-aaaa-bbbb-cccc-000000000001-000000'));
  });
  after(() => ses.close());

  test('sends the raw message through the SESv2 client, info as nodemailer', async () => {
    const t = mailer.createTransport({ SES: { sesClient: client(ses.port), SendEmailCommand } });
    assert.equal(t.transporter.name, 'SESTransport');
    const before = ses.requests.length;
    const info = await t.sendMail(message());
    const req = ses.requests[before];
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v2/email/outbound-emails');
    assert.match(req.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request/);
    const b = req.body;
    assert.equal(b.FromEmailAddress, '=?UTF-8?Q?Sender_N=C3=A4me?= <sender@example.com>');
    assert.deepEqual(b.Destination, { ToAddresses: ['to@example.com', 'zoe@example.com', 'cc@example.com', 'hidden@example.com'] });
    assert.equal(b.ConfigurationSetName, 'my-set');
    assert.deepEqual(b.EmailTags, [{ Name: 'tag', Value: 'v' }]);
    const raw = Buffer.from(b.Content.Raw.Data, 'base64');
    // every line break is CRLF; Bcc is not written
    assert.doesNotMatch(raw.toString('binary'), /[^\r]\n/);
    assert.doesNotMatch(raw.toString('binary'), /^Bcc:/im);
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, 'Hello SES');
    assert.equal(parsed.text, 'line one\nline two\n');
    assert.equal(parsed.attachments[0].content.toString(), 'attached');
    assert.deepEqual(Object.keys(info), ['envelope', 'messageId', 'response', 'raw']);
    assert.deepEqual(info.envelope, { from: 'sender@example.com', to: ['to@example.com', 'zoe@example.com', 'cc@example.com', 'hidden@example.com'] });
    assert.equal(info.messageId, '<0102018f-aaaa-bbbb-cccc-000000000001-000000@eu-west-1.amazonses.com>');
    assert.equal(info.response, '0102018f-aaaa-bbbb-cccc-000000000001-000000');
    assert.ok(Buffer.isBuffer(info.raw));
    assert.ok(info.raw.equals(raw));
  });

  test('the same request and info shape as nodemailer', async () => {
    const seen = [];
    for (const mod of [mailer, nodemailer]) {
      const t = mod.createTransport({ SES: { sesClient: client(ses.port), SendEmailCommand } });
      const n = ses.requests.length;
      const info = await t.sendMail(message());
      const { Content, ...rest } = ses.requests[n].body;
      const parsed = await simpleParser(Buffer.from(Content.Raw.Data, 'base64'));
      seen.push({
        rest,
        info: { keys: Object.keys(info), envelope: info.envelope, messageId: info.messageId, response: info.response },
        headers: [...parsed.headers.keys()].filter((k) => k !== 'x-mailer').sort(),
      });
    }
    assert.deepEqual(seen[0], seen[1]);
  });

  test('us-east-1 ids end in @email.amazonses.com; an id with @ is kept', async () => {
    const t = mailer.createTransport({ SES: { sesClient: client(ses.port, 'us-east-1'), SendEmailCommand } });
    const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
    assert.equal(info.messageId, '<0102018f-aaaa-bbbb-cccc-000000000001-000000@email.amazonses.com>');
    const s2 = await startSes(ok('custom@id.example'));
    try {
      const t2 = mailer.createTransport({ SES: { sesClient: client(s2.port), SendEmailCommand } });
      const info2 = await t2.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
      assert.equal(info2.messageId, '<custom@id.example>');
      // no From header: FromEmailAddress is the envelope sender
      const t3 = mailer.createTransport({ SES: { sesClient: client(s2.port), SendEmailCommand } });
      await t3.sendMail({ envelope: { from: 'env@example.com', to: 'b@example.com' }, text: 'x' });
      assert.equal(s2.requests.at(-1).body.FromEmailAddress, 'env@example.com');
    } finally {
      await s2.close();
    }
  });

  test('callback form', async () => {
    const t = mailer.createTransport({ SES: { sesClient: client(ses.port), SendEmailCommand } });
    const info = await new Promise((resolve, reject) =>
      t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }, (err, i) => (err ? reject(err) : resolve(i)))
    );
    assert.equal(info.response, '0102018f-aaaa-bbbb-cccc-000000000001-000000');
  });

  test('an SES error rejects with the SDK error tagged ESES, as nodemailer', async () => {
    const s = await startSes(() => ({ status: 400, type: 'MessageRejected', json: { message: 'Email address is not verified.' } }));
    try {
      const errs = [];
      for (const mod of [mailer, nodemailer]) {
        const t = mod.createTransport({ SES: { sesClient: client(s.port), SendEmailCommand } });
        const err = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }).then(
          () => assert.fail('resolved'),
          (e) => e
        );
        errs.push({ name: err.name, code: err.code, message: err.message, status: err.$metadata && err.$metadata.httpStatusCode });
      }
      assert.deepEqual(errs[0], { name: 'MessageRejected', code: 'ESES', message: 'Email address is not verified.', status: 400 });
      assert.deepEqual(errs[0], errs[1]);
    } finally {
      await s.close();
    }
  });

  test('a SendEmailCommand that throws settles once with its error', async () => {
    class Broken {
      constructor() {
        throw new Error('bad command');
      }
    }
    const t = mailer.createTransport({ SES: { sesClient: client(ses.port), SendEmailCommand: Broken } });
    await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }), { message: 'bad command', code: 'ESES' });
  });

  test('verify: SES refusing the probe as invalid means the client works; other errors fail', async () => {
    const s = await startSes((r) =>
      r.body && r.body.FromEmailAddress === 'invalid@invalid'
        ? { status: 400, type: 'MessageRejected', json: { message: 'Email address is not verified.' } }
        : { status: 200, json: { MessageId: 'x' } }
    );
    const denied = await startSes(() => ({ status: 403, type: 'AccessDeniedException', json: { message: 'denied' } }));
    try {
      const t = mailer.createTransport({ SES: { sesClient: client(s.port), SendEmailCommand } });
      assert.equal(await t.verify(), true);
      const probe = s.requests.at(-1).body;
      assert.equal(Buffer.from(probe.Content.Raw.Data, 'base64').toString(), 'From: <invalid@invalid>\r\nTo: <invalid@invalid>\r\n Subject: Invalid\r\n\r\nInvalid');
      assert.equal(await new Promise((resolve, reject) => t.verify((err, ok2) => (err ? reject(err) : resolve(ok2)))), true);
      const bad = mailer.createTransport({ SES: { sesClient: client(denied.port), SendEmailCommand } });
      await assert.rejects(bad.verify(), { name: 'AccessDeniedException', code: 'ESES' });
    } finally {
      await s.close();
      await denied.close();
    }
  });

  test('DKIM: signed without Date and Message-ID', async () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
    const t = mailer.createTransport({
      SES: { sesClient: client(ses.port), SendEmailCommand },
      dkim: { domainName: 'example.com', keySelector: 'sel', privateKey: pem },
    });
    await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 'x' });
    const raw = Buffer.from(ses.requests.at(-1).body.Content.Raw.Data, 'base64').toString();
    const sig = raw.split('\r\n\r\n')[0].replace(/\r\n\s+/g, ' ');
    const h = /DKIM-Signature:.*?\bh=([^;]+)/i.exec(sig)[1].toLowerCase().split(':').map((s) => s.trim());
    assert.ok(h.includes('from') && h.includes('subject'), h.join(':'));
    assert.ok(!h.includes('date') && !h.includes('message-id'), h.join(':'));
  });

  test('configuration errors as nodemailer (ECONFIG)', () => {
    for (const mod of [mailer, nodemailer]) {
      assert.throws(() => mod.createTransport({ SES: {} }), { code: 'ECONFIG', message: /^Missing SES configuration, expecting \{ sesClient, SendEmailCommand \}/ });
      assert.throws(() => mod.createTransport({ SES: { ses: {}, aws: {} } }), { code: 'ECONFIG', message: /^Using legacy SES configuration/ });
    }
  });

  test('sendmail wins over SES, and a pool over both (nodemailer precedence)', () => {
    const sc = { sesClient: client(ses.port), SendEmailCommand };
    assert.equal(mailer.createTransport({ sendmail: true, SES: sc }).transporter.name, 'Sendmail');
    assert.equal(mailer.createTransport({ jsonTransport: true, SES: sc }).transporter.name, 'JSONTransport');
    assert.equal(mailer.createTransport({ pool: true, SES: sc }).transporter.name, 'SMTP (pool)');
  });
});
