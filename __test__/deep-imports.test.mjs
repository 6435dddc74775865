// nodemailer's deep modules (`nodemailer/lib/smtp-transport`, `lib/mailer`, …) under mailer-rs:
// the transport classes and `lib/mailer` / `lib/well-known` work at run time like nodemailer's;
// the modules mailer-rs only has types for fail loudly when loaded, never hand back a wrong object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSmtpServer } from './helpers/smtp.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodemailer = require('nodemailer');
const mailer = require('mailer-rs');

const TYPES_ONLY = ['addressparser', 'base64', 'dkim', 'fetch', 'mail-composer', 'mime-funcs', 'mime-node', 'qp', 'shared', 'smtp-connection', 'xoauth2'];

test('deep subpaths resolve through the exports map, types and run time', () => {
  for (const name of ['smtp-transport', 'smtp-pool', 'stream-transport', 'json-transport', 'mailer', 'well-known', ...TYPES_ONLY]) {
    assert.equal(require.resolve(`mailer-rs/lib/${name}`), path.join(root, 'lib', 'nodemailer', `${name}.js`));
  }
  // nodemailer has no such module either.
  assert.throws(() => require('mailer-rs/lib/no-such-module'), { code: 'MODULE_NOT_FOUND' });
});

test('createTransport(new SMTPTransport(options)) and new SMTPPool(url) send as nodemailer\'s classes do', async () => {
  const srv = await startSmtpServer({ users: { alice: 'secret' }, allowInsecureAuth: true });
  try {
    const SMTPTransport = require('mailer-rs/lib/smtp-transport');
    const SMTPPool = require('mailer-rs/lib/smtp-pool');
    const options = { host: '127.0.0.1', port: srv.port, ignoreTLS: true, auth: { user: 'alice', pass: 'secret' } };
    const theirs = new (require('nodemailer/lib/smtp-transport'))(options);
    const single = new SMTPTransport(options);
    assert.equal(single.name, theirs.name);
    assert.deepEqual(single.options, options);
    assert.equal(SMTPTransport.default, SMTPTransport);

    const t = mailer.createTransport(single);
    assert.equal(t.transporter.name, 'SMTP');
    const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'single' });
    assert.deepEqual(info.accepted, ['b@example.com']);

    // `pool: true` from the class, whatever the options say; a URL string as nodemailer takes it.
    const p = mailer.createTransport(new SMTPPool(`smtp://alice:secret@127.0.0.1:${srv.port}?ignoreTLS=true`), { from: 'd@example.com' });
    assert.equal(p.transporter.name, new (require('nodemailer/lib/smtp-pool'))({}).name);
    await p.sendMail({ to: 'c@example.com', text: 'pooled' });
    p.close();
    const forcedSingle = mailer.createTransport(new SMTPTransport({ ...options, pool: true }));
    assert.equal(forcedSingle.transporter.name, 'SMTP');
    assert.deepEqual(srv.messages.map((m) => m.envelope.rcptTo[0].address), ['b@example.com', 'c@example.com']);
    assert.deepEqual(srv.authAttempts.map((a) => a.ok), [true, true]);
  } finally {
    await srv.close();
  }
});

test('StreamTransport and JSONTransport instances select those transports', async () => {
  const StreamTransport = require('mailer-rs/lib/stream-transport');
  const JSONTransport = require('mailer-rs/lib/json-transport');
  const s = mailer.createTransport(new StreamTransport({ buffer: true }));
  const info = await s.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' });
  assert.ok(Buffer.isBuffer(info.message));
  const j = mailer.createTransport(new JSONTransport({}));
  const ours = JSON.parse((await j.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' })).message);
  const theirs = JSON.parse((await nodemailer.createTransport({ jsonTransport: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' })).message);
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
  assert.equal(new StreamTransport({}).name, 'StreamTransport');
  assert.equal(new JSONTransport({}).name, 'JSONTransport');
});

test('lib/mailer is the class of transporters; lib/well-known answers as nodemailer\'s', async () => {
  const Mail = require('mailer-rs/lib/mailer');
  assert.ok(mailer.createTransport({ host: 'localhost' }) instanceof Mail);
  assert.equal(Mail.default, Mail);
  const { default: MailEsm } = await import('mailer-rs/lib/mailer');
  assert.equal(MailEsm, Mail);

  const wellKnown = require('mailer-rs/lib/well-known');
  const theirs = require('nodemailer/lib/well-known');
  for (const key of ['Gmail', 'gmail.com', 'Outlook365', 'SES-US-EAST-1', 'not-a-service']) {
    assert.deepEqual(wellKnown(key), theirs(key), key);
  }
});

test('types-only subpaths throw ECONFIG naming the module, with require and import', async () => {
  for (const name of TYPES_ONLY) {
    assert.throws(() => require(`mailer-rs/lib/${name}`), (err) => {
      assert.equal(err.code, 'ECONFIG');
      assert.match(err.message, new RegExp(`mailer-rs/lib/${name} has TypeScript types only`));
      return true;
    });
  }
  await assert.rejects(import('mailer-rs/lib/xoauth2'), { code: 'ECONFIG', message: /lib\/xoauth2 has TypeScript types only/ });
});

test('SendmailTransport and SESTransport instances select those transports', async () => {
  const SendmailTransport = require('mailer-rs/lib/sendmail-transport');
  const SESTransport = require('mailer-rs/lib/ses-transport');
  assert.equal(new SendmailTransport({}).name, new (require('nodemailer/lib/sendmail-transport'))({}).name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-deep-'));
  process.env.FAKE_SENDMAIL_DIR = dir;
  try {
    const fake = path.join(root, '__test__', 'fixtures', 'fake-sendmail.sh');
    const info = await mailer.createTransport(new SendmailTransport({ path: fake })).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' });
    assert.deepEqual(info.envelope, { from: 'a@example.com', to: ['b@example.com'] });
    assert.match(fs.readFileSync(path.join(dir, 'stdin'), 'utf8'), /\r?\n\r?\nhi/);
  } finally {
    delete process.env.FAKE_SENDMAIL_DIR;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // the SES client is the user's: a stub that records the command is enough to see the selection
  const sent = [];
  class SendEmailCommand {
    constructor(input) {
      this.input = input;
    }
  }
  const sesClient = { config: { region: async () => 'eu-west-1' }, send: async (cmd) => (sent.push(cmd), { MessageId: 'm1' }) };
  const ses = mailer.createTransport(new SESTransport({ SES: { sesClient, SendEmailCommand } }));
  const sesInfo = await ses.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' });
  assert.equal(sent.length, 1);
  assert.ok(sent[0].input.Content.Raw.Data.length > 0);
  assert.match(sesInfo.messageId, /m1/);
});
