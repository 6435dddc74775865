// sendmail transport: a fake sendmail (__test__/fixtures/fake-sendmail.sh, records argv and
// stdin) run by mailer-rs and by nodemailer 10.6.1 side by side, and Postfix's real sendmail
// writing into its maildrop queue when Postfix is installed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mailer = require('../index.js');
const nodemailer = require('../node_modules/nodemailer');
const { simpleParser } = require('mailparser');

const FAKE = fileURLToPath(new URL('./fixtures/fake-sendmail.sh', import.meta.url));

let root;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-sendmail-'));
});
after(() => {
  delete process.env.FAKE_SENDMAIL_DIR;
  delete process.env.FAKE_SENDMAIL_MODE;
  fs.rmSync(root, { recursive: true, force: true });
});

let runs = 0;
/** Sends `msg` through the fake sendmail with `mod`; returns { info | err, argv, stdin, dir }. */
async function run(mod, msg, options = {}, mode = '') {
  const dir = path.join(root, String(runs++));
  fs.mkdirSync(dir);
  process.env.FAKE_SENDMAIL_DIR = dir;
  process.env.FAKE_SENDMAIL_MODE = mode;
  const t = mod.createTransport({ sendmail: true, path: FAKE, ...options });
  const out = { dir };
  try {
    out.info = await t.sendMail(msg);
  } catch (err) {
    out.err = err;
  }
  const read = (f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f)) : null);
  const argv = read('argv');
  out.argv = argv === null ? null : argv.toString().split('\n').slice(0, -1);
  out.stdin = read('stdin');
  return out;
}

const fixed = {
  messageId: '<fixed-id@example.com>',
  date: new Date('2026-01-02T03:04:05Z'),
};

const message = () => ({
  ...fixed,
  from: 'Sender <sender@example.com>',
  to: 'to@example.com, other@example.com',
  cc: 'cc@example.com',
  bcc: 'hidden@example.com',
  subject: 'Hello sendmail',
  text: 'line one\nline two\n.\nafter a lone dot\n',
});

const errorView = (e) => e && { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, spawnargs: e.spawnargs };

describe('sendmail transport (fake binary)', () => {
  test('argv, stdin and info as nodemailer: -i -f <from> <recipients>, Bcc kept', async () => {
    const ours = await run(mailer, message());
    const theirs = await run(nodemailer, message());
    assert.ifError(ours.err);
    assert.deepEqual(ours.argv, ['-i', '-f', 'sender@example.com', 'to@example.com', 'other@example.com', 'cc@example.com', 'hidden@example.com']);
    assert.deepEqual(ours.argv, theirs.argv);
    assert.deepEqual(ours.info, {
      envelope: { from: 'sender@example.com', to: ['to@example.com', 'other@example.com', 'cc@example.com', 'hidden@example.com'] },
      messageId: '<fixed-id@example.com>',
      response: 'Messages queued for delivery',
    });
    assert.deepEqual(ours.info, theirs.info);
    assert.equal(mailer.createTransport({ sendmail: true }).transporter.name, 'Sendmail');
    // the message as composed (CRLF), Bcc written for sendmail to strip
    const text = ours.stdin.toString();
    assert.match(text, /^Bcc: hidden@example\.com\r$/m);
    assert.doesNotMatch(text, /[^\r]\n/);
    const [a, b] = await Promise.all([simpleParser(ours.stdin), simpleParser(theirs.stdin)]);
    for (const key of ['subject', 'text', 'messageId', 'date']) assert.deepEqual(a[key], b[key], key);
    for (const key of ['from', 'to', 'cc', 'bcc']) assert.deepEqual(a[key].value, b[key].value, key);
  });

  test('custom args replace -f <from>; recipients still follow (as nodemailer)', async () => {
    const opts = { args: ['-t', '-oi', '-X', '/tmp/log'] };
    const ours = await run(mailer, message(), opts);
    const theirs = await run(nodemailer, message(), opts);
    assert.deepEqual(ours.argv, ['-i', '-t', '-oi', '-X', '/tmp/log', 'to@example.com', 'other@example.com', 'cc@example.com', 'hidden@example.com']);
    assert.deepEqual(ours.argv, theirs.argv);
    // no sender: no -f
    const noFrom = await run(mailer, { to: 'to@example.com', text: 'x' });
    assert.deepEqual(noFrom.argv, ['-i', 'to@example.com']);
  });

  test('newline: unix drops CR, windows makes CRLF, byte for byte as nodemailer', async () => {
    for (const newline of ['unix', 'windows', 'lf', '\r\n']) {
      const ours = await run(mailer, message(), { newline });
      const theirs = await run(nodemailer, message(), { newline });
      const unix = !['windows', '\r\n'].includes(newline);
      if (unix) assert.ok(!ours.stdin.includes(13), newline);
      else assert.doesNotMatch(ours.stdin.toString(), /[^\r]\n/, newline);
      // same text message, same fixed id and date: only X-Mailer may differ
      const strip = (b) => b.toString().replace(/^X-Mailer: .*\r?\n/m, '');
      assert.equal(strip(ours.stdin), strip(theirs.stdin), newline);
    }
  });

  test('addresses that begin with "-" are refused before anything runs (option injection)', async () => {
    for (const msg of [
      { from: '-oQ/tmp/evil@example.com', to: 'to@example.com', text: 'x' },
      { from: 'a@example.com', to: '"-oQ/tmp/evil"@example.com', text: 'x' },
      { envelope: { from: 'a@example.com', to: ['-X/tmp/log@example.com'] }, text: 'x' },
    ]) {
      const ours = await run(mailer, msg);
      const theirs = await run(nodemailer, msg);
      assert.equal(ours.argv, null, 'the binary was not run');
      assert.deepEqual(errorView(ours.err), errorView(theirs.err));
      assert.equal(ours.err.code, 'ESENDMAIL');
      assert.equal(ours.err.message, 'Can not send mail. Invalid envelope addresses.');
    }
  });

  test('a missing binary: node spawn error (ENOENT, errno, syscall, path, spawnargs) as nodemailer', async () => {
    const opts = { path: path.join(root, 'no-such-sendmail') };
    const ours = await run(mailer, message(), opts);
    const theirs = await run(nodemailer, message(), opts);
    assert.equal(ours.err.code, 'ENOENT');
    assert.equal(ours.err.message, `spawn ${opts.path} ENOENT`);
    assert.deepEqual(errorView(ours.err), errorView(theirs.err));
  });

  test('non-zero exit, exit 127, a signal, exit 0 without reading: nodemailer errors (ESENDMAIL)', async () => {
    const big = { ...message(), text: 'x'.repeat(4 << 20) };
    const cases = [
      ['exit:75', message(), 'Sendmail exited with code 75'],
      ['exit:127', message(), 'Sendmail command not found, process exited with code 127'],
      ['signal', message(), 'Sendmail was terminated by SIGTERM'],
      // more than a pipe holds, so the write fails before the process has exited
      ['noread', big, 'Sendmail exited before the message was written'],
    ];
    for (const [mode, msg, text] of cases) {
      const ours = await run(mailer, msg, {}, mode);
      assert.equal(ours.err && ours.err.message, text, mode);
      assert.equal(ours.err.code, 'ESENDMAIL', mode);
      const theirs = await run(nodemailer, msg, {}, mode);
      assert.deepEqual(errorView(ours.err), errorView(theirs.err), mode);
    }
  });

  test('callback form; verify() is false as nodemailer (sendmail has none)', async () => {
    const dir = path.join(root, 'cb');
    fs.mkdirSync(dir);
    process.env.FAKE_SENDMAIL_DIR = dir;
    process.env.FAKE_SENDMAIL_MODE = '';
    const t = mailer.createTransport({ sendmail: true, path: FAKE });
    const info = await new Promise((resolve, reject) => t.sendMail(message(), (err, i) => (err ? reject(err) : resolve(i))));
    assert.equal(info.response, 'Messages queued for delivery');
    assert.equal(t.verify(), false);
    assert.equal(nodemailer.createTransport({ sendmail: true, path: FAKE }).verify(), false);
  });

  test('a file attachment that cannot be read fails the send; the binary gets no complete message', async () => {
    const msg = { ...message(), attachments: [{ path: path.join(root, 'missing.bin') }] };
    const ours = await run(mailer, msg);
    assert.ok(ours.err, 'rejected');
    assert.equal(ours.err.code, 'EFILEACCESS');
    assert.match(ours.err.message, /ENOENT/);
  });

  test('a large file attachment is streamed: memory stays flat', async (t) => {
    const file = path.join(root, 'big.bin');
    const size = 48 << 20;
    const fd = fs.openSync(file, 'w');
    const block = Buffer.alloc(1 << 20, 7);
    for (let i = 0; i < size >> 20; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    global.gc && global.gc();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const out = await run(mailer, { ...message(), attachments: [{ path: file }] }, {}, 'count');
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.ifError(out.err);
    const written = Number(fs.readFileSync(path.join(out.dir, 'size'), 'utf8'));
    // base64 of 48 MB plus headers went through the pipe
    assert.ok(written > (size * 4) / 3, `wrote ${written}`);
    const grew = (peak - base) / (1 << 20);
    t.diagnostic(`RSS growth ${grew.toFixed(1)} MB (buffering the message would be over 64 MB)`);
    assert.ok(grew < 24, `RSS grew by ${grew.toFixed(1)} MB while sending a ${size >> 20} MB attachment`);
  });
});

// Postfix's sendmail (Debian package `postfix`) drops the message into its maildrop queue
// through postdrop; the mail system does not need to run. Reading the queue needs root.
function postfixSkipReason() {
  if (!fs.existsSync('/usr/sbin/sendmail')) return 'no /usr/sbin/sendmail';
  try {
    execFileSync('postconf', ['-h', 'mail_version'], { stdio: 'pipe' });
  } catch {
    return '/usr/sbin/sendmail is not Postfix';
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'reading the maildrop queue needs root';
  return false;
}

describe('sendmail transport (Postfix)', () => {
  const reason = postfixSkipReason();
  test('Postfix queues the message: envelope and content as sent', { skip: reason ? `${reason} (by-hand run: docs/transports.md)` : false }, async () => {
    const queue = execFileSync('postconf', ['-h', 'queue_directory']).toString().trim();
    const maildrop = path.join(queue, 'maildrop');
    const before = new Set(fs.readdirSync(maildrop));
    const id = `<postfix-${process.pid}-${Date.now()}@example.com>`;
    const t = mailer.createTransport({ sendmail: true, path: '/usr/sbin/sendmail' });
    const info = await t.sendMail({ ...message(), messageId: id });
    assert.equal(info.response, 'Messages queued for delivery');
    const added = fs.readdirSync(maildrop).filter((f) => !before.has(f));
    let found = null;
    for (const qid of added) {
      const text = execFileSync('postcat', ['-q', qid]).toString();
      if (text.includes(id)) found = { qid, text };
    }
    assert.ok(found, `no queue file in ${maildrop} holds ${id}`);
    try {
      const { text } = found;
      assert.match(text, /^sender: sender@example\.com$/m);
      for (const r of ['to@example.com', 'other@example.com', 'cc@example.com', 'hidden@example.com']) {
        assert.match(text, new RegExp(`^recipient: ${r.replace('.', '\\.')}$`, 'm'));
      }
      assert.match(text, /^Subject: Hello sendmail$/m);
      // -i: the lone dot line did not end the message
      assert.match(text, /^\.\nafter a lone dot$/m);
    } finally {
      execFileSync('postsuper', ['-d', found.qid, 'maildrop'], { stdio: 'pipe' });
    }
  });
});
