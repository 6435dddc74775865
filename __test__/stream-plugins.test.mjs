// Stream plugins (`transporter.use('stream', fn)`): the composed message passes through the
// plugins' Transforms and process functions before it is sent, as in nodemailer
// (lib/mailer/index.js, lib/mime-node/index.js). Checked on the bytes a real smtp-server receives,
// side by side with nodemailer 10.6.1 running the same plugins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform, PassThrough } from 'node:stream';
import { createRequire } from 'node:module';
import { createTransport } from '../index.mjs';
import { startSmtpServer } from './helpers/smtp.mjs';
import { waitFor } from './helpers/wait.mjs';

const require = createRequire(import.meta.url);
const nodemailer = require('nodemailer');
const { dkimVerify } = require('mailauth/lib/dkim/verify');

// Fixed Message-ID and Date: the two libraries then compose the same bytes.
const MAIL = {
  from: 'a@example.com',
  to: 'b@example.com',
  subject: 'plugins',
  text: 'hello world\nsecond line',
  messageId: '<fixed-id@example.com>',
  date: new Date('2026-01-02T03:04:05Z'),
};

const smtpOptions = (srv, extra) => Object.assign({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }, extra);
// Time that must pass, not an event: how long after the first callback a second one (which
// must never come) is waited for.
const SECOND_CALLBACK_WINDOW_MS = 300;

/** A Transform that maps each chunk's text (latin1, so bytes survive). */
const mapper = (fn) =>
  new Transform({
    transform(chunk, enc, done) {
      done(null, Buffer.from(fn(chunk.toString('latin1')), 'latin1'));
    },
  });

const upper = (mail, done) => {
  mail.message.transform(() => mapper((s) => s.toUpperCase()));
  done();
};

/** Appends `text` at the end of the message (after whatever came before). */
const trailer = (text) => (mail, done) => {
  mail.message.transform(
    () =>
      new Transform({
        transform(chunk, enc, cb) {
          cb(null, chunk);
        },
        flush(cb) {
          cb(null, Buffer.from(text));
        },
      })
  );
  done();
};

async function sendBoth(srv, plugins, mail = MAIL, extra = {}) {
  const ours = createTransport(smtpOptions(srv, extra));
  const theirs = nodemailer.createTransport(smtpOptions(srv, extra));
  for (const p of plugins) {
    ours.use('stream', p);
    theirs.use('stream', p);
  }
  const a = await ours.sendMail(mail);
  const b = await theirs.sendMail(mail);
  ours.close();
  theirs.close();
  return { a, b };
}

test('a Transform plugin changes the bytes the server receives, exactly as nodemailer', async () => {
  const srv = await startSmtpServer();
  try {
    const { a, b } = await sendBoth(srv, [upper]);
    assert.equal(srv.messages.length, 2);
    const [ours, theirs] = srv.messages.map((m) => m.raw.toString('latin1'));
    assert.match(ours, /^SUBJECT: PLUGINS\r$/m);
    assert.match(ours, /\r\n\r\nHELLO WORLD\r\nSECOND LINE\r\n$/);
    assert.equal(ours, theirs);
    assert.equal(a.messageId, '<fixed-id@example.com>');
    assert.deepEqual(a.envelope, b.envelope);
    assert.deepEqual(a.accepted, ['b@example.com']);
    assert.equal(a.messageSize, b.messageSize);
  } finally {
    await srv.close();
  }
});

test('several plugins apply in the order they were added, transforms before process functions', async () => {
  const srv = await startSmtpServer();
  const seen = [];
  const looker = (mail, done) => {
    seen.push([mail.message.messageId(), mail.message.getEnvelope(), mail.data.subject]);
    done();
  };
  const processFunc = (mail, done) => {
    // a process function gets the stream after every transform and the final line break
    mail.message.processFunc((input) => input.pipe(mapper((s) => s.replace(/TRAILER-1/g, 'seen-by-processFunc'))));
    done();
  };
  try {
    // async plugins: done called later
    const later = (fn) => (mail, done) => setTimeout(() => fn(mail, done), 5);
    const { a } = await sendBoth(srv, [later(processFunc), trailer('trailer-1'), later(looker), upper, trailer('trailer-2\r\n')]);
    const [ours, theirs] = srv.messages.map((m) => m.raw.toString('latin1'));
    // trailer-1 is uppercased (added before `upper`), trailer-2 is not; the process function saw
    // the uppercased trailer; the final line break comes after trailer-2
    assert.match(ours, /SECOND LINEseen-by-processFunctrailer-2\r\n$/);
    assert.equal(ours, theirs);
    assert.deepEqual(seen[0], ['<fixed-id@example.com>', { from: 'a@example.com', to: ['b@example.com'] }, 'plugins']);
    assert.deepEqual(seen[0], seen[1]);
    assert.equal(a.response.slice(0, 3), '250');
  } finally {
    await srv.close();
  }
});

test('a message with a plugin ending it without a line break gets one, as nodemailer', async () => {
  const srv = await startSmtpServer();
  try {
    await sendBoth(srv, [trailer('no line break')]);
    const [ours, theirs] = srv.messages.map((m) => m.raw.toString('latin1'));
    assert.match(ours, /second lineno line break\r\n$/);
    assert.equal(ours, theirs);
  } finally {
    await srv.close();
  }
});

test('a plugin that only looks sends the composed message unchanged', async () => {
  const srv = await startSmtpServer();
  try {
    const t = createTransport(smtpOptions(srv));
    let calls = 0;
    t.use('stream', (mail, done) => {
      calls++;
      done();
    });
    await t.sendMail(MAIL);
    const plain = createTransport(smtpOptions(srv));
    await plain.sendMail(MAIL);
    assert.equal(calls, 1);
    assert.equal(srv.messages[0].raw.toString('latin1'), srv.messages[1].raw.toString('latin1'));
  } finally {
    await srv.close();
  }
});

test('a plugin that fails, or whose stream fails, fails the send once; the transport goes on', async () => {
  const srv = await startSmtpServer();
  try {
    const t = createTransport(smtpOptions(srv));
    let mode = 'ok';
    t.use('stream', (mail, done) => {
      if (mode === 'callback') return done(new Error('plugin says no'));
      if (mode === 'throw') throw new Error('plugin throws');
      if (mode === 'transform') {
        let n = 0;
        mail.message.transform(
          new Transform({
            transform(chunk, enc, cb) {
              // fails after the headers went through
              if (n++ > 0) return cb(Object.assign(new Error('transform broke'), { code: 'EBROKE' }));
              cb(null, chunk);
            },
          })
        );
      }
      if (mode === 'factory') mail.message.transform(() => {
        throw new Error('factory broke');
      });
      if (mode === 'processFunc') {
        mail.message.processFunc((input) => {
          const out = new PassThrough();
          input.once('data', () => out.destroy(new Error('processFunc broke')));
          return out;
        });
      }
      done();
    });

    const big = Object.assign({}, MAIL, { attachments: [{ filename: 'a.bin', content: crypto.randomBytes(512 * 1024) }] });
    for (const [m, re, code] of [
      ['callback', /plugin says no/, undefined],
      ['throw', /plugin throws/, undefined],
      ['transform', /transform broke/, 'ESTREAM'],
      ['factory', /factory broke/, 'ESTREAM'],
      ['processFunc', /processFunc broke/, 'ESTREAM'],
    ]) {
      mode = m;
      // callback style: counts how often the callback runs
      const calls = [];
      await new Promise((resolve) => {
        t.sendMail(big, (err, info) => {
          calls.push([err, info]);
          resolve();
        });
      });
      await new Promise((r) => setTimeout(r, SECOND_CALLBACK_WINDOW_MS));
      assert.equal(calls.length, 1, m);
      const [err] = calls[0];
      assert.match(err.message, re, m);
      assert.equal(err.code, code, m);
      if (code) assert.equal(err.command, 'API', m);
      if (m === 'transform') assert.equal(err.originalCode, 'EBROKE');
      // with a promise too
      await assert.rejects(t.sendMail(big), re);
    }
    // nothing half-made was delivered, and the transport still sends
    assert.equal(srv.messages.length, 0);
    mode = 'ok';
    await t.sendMail(MAIL);
    assert.equal(srv.messages.length, 1);
  } finally {
    await srv.close();
  }
});

test('a transform that fails mid-message fails the send as in nodemailer (ESTREAM, nothing delivered)', async () => {
  const srv = await startSmtpServer();
  try {
    const failing = (mail, done) => {
      let n = 0;
      mail.message.transform(() =>
        new Transform({
          transform(chunk, enc, cb) {
            if ((n += chunk.length) > 100 * 1024) return cb(new Error('late failure'));
            cb(null, chunk);
          },
        })
      );
      done();
    };
    const big = Object.assign({}, MAIL, { attachments: [{ filename: 'a.bin', content: crypto.randomBytes(1024 * 1024) }] });
    const ours = createTransport(smtpOptions(srv));
    ours.use('stream', failing);
    const theirs = nodemailer.createTransport(smtpOptions(srv));
    theirs.use('stream', failing);
    const e1 = await ours.sendMail(big).catch((e) => e);
    const e2 = await theirs.sendMail(big).catch((e) => e);
    assert.equal(e1.message, 'late failure');
    assert.equal(e1.message, e2.message);
    assert.equal(e1.code, e2.code);
    assert.equal(e1.command, e2.command);
    // once the server has seen both connections end, nothing more can be delivered on them
    await waitFor(() => srv.server.connections.size === 0, { what: 'the server to see both connections end' });
    assert.equal(srv.messages.length, 0);
  } finally {
    await srv.close();
  }
});

test('stream plugins on a pooled transport: every message transformed, a failing one does not stop the rest', async () => {
  const srv = await startSmtpServer();
  try {
    // one connection: at most 100 sends are handed to Rust at once, the others wait in JS
    const t = createTransport(smtpOptions(srv, { pool: true, maxConnections: 1 }));
    t.use('stream', (mail, done) => {
      if (mail.data.subject === 'bad') {
        mail.message.transform(
          () =>
            new Transform({
              transform(chunk, enc, cb) {
                cb(new Error('bad message'));
              },
            })
        );
      } else {
        mail.message.transform(() => mapper((s) => s.replace(/body-(\d+)/g, 'BODY-$1')));
      }
      done();
    });
    const sends = [];
    for (let i = 0; i < 130; i++) {
      const subject = i === 7 ? 'bad' : `m${i}`;
      sends.push(t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject, text: `body-${i}` }).then(() => 'ok', (e) => e.message));
    }
    const results = await Promise.all(sends);
    assert.equal(results[7], 'bad message');
    assert.deepEqual(results.filter((r) => r === 'ok').length, 129);
    assert.equal(srv.messages.length, 129);
    for (const m of srv.messages) assert.match(m.raw.toString(), /\r\n\r\nBODY-\d+\r\n$/);
    // in order, each message its own
    const bodies = srv.messages.map((m) => Number(/BODY-(\d+)/.exec(m.raw.toString())[1]));
    assert.deepEqual(bodies, [...Array(130).keys()].filter((i) => i !== 7));
    t.close();
  } finally {
    await srv.close();
  }
});

test('DKIM signs the message after the plugins (SMTP), and the signature verifies', async () => {
  const srv = await startSmtpServer();
  const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const record = `v=DKIM1; k=rsa; p=${key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const resolver = async (name, type) => {
    if (type === 'TXT' && name === 's._domainkey.example.com') return [[record]];
    throw Object.assign(new Error('no record'), { code: 'ENOTFOUND' });
  };
  const dkim = { domainName: 'example.com', keySelector: 's', privateKey: key.privateKey.export({ type: 'pkcs1', format: 'pem' }) };
  try {
    await sendBoth(srv, [trailer('-- signed trailer\r\n')], MAIL, { dkim });
    const [ours, theirs] = srv.messages.map((m) => m.raw);
    assert.match(ours.toString(), /^DKIM-Signature: /);
    assert.match(ours.toString(), /-- signed trailer\r\n$/);
    // same body, so the same body hash as nodemailer's
    const bh = (raw) => /bh=([^;]+);/.exec(raw.toString().replace(/\r\n\s+/g, ''))[1];
    assert.equal(bh(ours), bh(theirs));
    const { results } = await dkimVerify(ours, { resolver });
    assert.equal(results[0].status.result, 'pass');
  } finally {
    await srv.close();
  }
});

test('streamTransport applies stream plugins (buffer and stream output), then DKIM and newline', async () => {
  const plugin = trailer('tail\n');
  // CRLF in the text: nodemailer's stream transport keeps a bare LF of a 7bit part, mailer-rs
  // writes CRLF (docs/messages.md)
  const MAIL_CRLF = Object.assign({}, MAIL, { text: 'hello world\r\nsecond line' });
  for (const options of [{ buffer: true }, {}, { buffer: true, newline: 'unix' }, { newline: 'windows' }]) {
    const ours = createTransport(Object.assign({ streamTransport: true }, options)).use('stream', upper).use('stream', plugin);
    const theirs = nodemailer.createTransport(Object.assign({ streamTransport: true }, options)).use('stream', upper).use('stream', plugin);
    const a = await ours.sendMail(MAIL_CRLF);
    const b = await theirs.sendMail(MAIL_CRLF);
    const read = async (m) => (Buffer.isBuffer(m) ? m : Buffer.concat(await m.toArray()));
    assert.equal(Buffer.isBuffer(a.message), !!options.buffer);
    const [x, y] = [await read(a.message), await read(b.message)];
    assert.match(x.toString(), /HELLO WORLD/);
    assert.equal(x.toString('latin1'), y.toString('latin1'), JSON.stringify(options));
    assert.deepEqual(a.envelope, b.envelope);
    assert.equal(a.messageId, b.messageId);
  }
  // DKIM over the plugins' output
  const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const record = `v=DKIM1; k=rsa; p=${key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const resolver = async (name, type) => {
    if (type === 'TXT' && name === 's._domainkey.example.com') return [[record]];
    throw Object.assign(new Error('no record'), { code: 'ENOTFOUND' });
  };
  const dkim = { domainName: 'example.com', keySelector: 's', privateKey: key.privateKey.export({ type: 'pkcs1', format: 'pem' }) };
  const t = createTransport({ streamTransport: true, buffer: true, dkim }).use('stream', plugin);
  const info = await t.sendMail(MAIL);
  assert.match(info.message.toString(), /^DKIM-Signature: /);
  assert.match(info.message.toString(), /tail\r?\n$/);
  const { results } = await dkimVerify(info.message, { resolver });
  assert.equal(results[0].status.result, 'pass');
  // a failing transform: buffer mode rejects, stream mode errors on the stream
  const failing = (mail, done) => {
    mail.message.transform(() => mapper(() => {
      throw new Error('stream transport transform broke');
    }));
    done();
  };
  await assert.rejects(createTransport({ streamTransport: true, buffer: true }).use('stream', failing).sendMail(MAIL), /stream transport transform broke/);
  const s = await createTransport({ streamTransport: true }).use('stream', failing).sendMail(MAIL);
  await assert.rejects(s.message.toArray(), /stream transport transform broke/);
  // piped without an error listener: logged, as nodemailer, not an uncaught exception
  const logged = [];
  const logger = { error: (entry, template, ...args) => logged.push([entry.component, entry.tnx, ...args]), debug() {}, info() {} };
  const u = await createTransport({ streamTransport: true, logger }).use('stream', failing).sendMail(MAIL);
  u.message.pipe(new PassThrough());
  await waitFor(() => logged.length > 0, { what: 'the stream error to be logged' });
  assert.deepEqual(logged.at(-1), ['stream-transport', 'send', '<fixed-id@example.com>', 'stream transport transform broke']);
});

test('jsonTransport runs stream plugins (their errors fail the send) but, as nodemailer, not their transforms', async () => {
  let seen = null;
  const plugin = (mail, done) => {
    seen = [mail.message.messageId(), mail.message.getEnvelope()];
    mail.message.transform(() => mapper((s) => s.toUpperCase()));
    done();
  };
  const ours = await createTransport({ jsonTransport: true }).use('stream', plugin).sendMail(MAIL);
  const theirs = await nodemailer.createTransport({ jsonTransport: true }).use('stream', plugin).sendMail(MAIL);
  assert.deepEqual(JSON.parse(ours.message), JSON.parse(theirs.message));
  assert.deepEqual(seen, ['<fixed-id@example.com>', { from: 'a@example.com', to: ['b@example.com'] }]);
  await assert.rejects(
    createTransport({ jsonTransport: true }).use('stream', (mail, done) => done(new Error('json plugin says no'))).sendMail(MAIL),
    /json plugin says no/
  );
});

test('a path attachment streams through a plugin (file read while sending) and compile plugins run first', async () => {
  const srv = await startSmtpServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-plugins-'));
  const file = path.join(dir, 'data.bin');
  const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(file, data);
  try {
    const t = createTransport(smtpOptions(srv));
    let bytes = 0;
    t.use('compile', (mail, done) => {
      mail.data.subject = 'from compile';
      done();
    });
    t.use('stream', (mail, done) => {
      mail.message.transform(
        () =>
          new Transform({
            transform(chunk, enc, cb) {
              bytes += chunk.length;
              cb(null, chunk);
            },
          })
      );
      done();
    });
    await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'see attachment', attachments: [{ path: file }] });
    const raw = srv.messages[0].raw.toString();
    assert.match(raw, /^Subject: from compile\r$/m);
    assert.equal(bytes, srv.messages[0].raw.length);
    const b64 = /filename=data\.bin\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--/.exec(raw)[1];
    assert.ok(Buffer.from(b64.replace(/\r\n/g, ''), 'base64').equals(data));
    // a missing file fails the send
    await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: [{ path: path.join(dir, 'missing') }] }), /ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await srv.close();
  }
});

test('a send refused before the message is read (no recipients, server rejects) reports that error', async () => {
  const srv = await startSmtpServer({ rejectRcpt: () => true });
  try {
    const t = createTransport(smtpOptions(srv));
    t.use('stream', upper);
    await assert.rejects(t.sendMail(Object.assign({}, MAIL, { to: [] })), { code: 'EENVELOPE', message: 'No recipients defined' });
    await assert.rejects(t.sendMail(MAIL), { code: 'EENVELOPE', command: 'RCPT TO' });
  } finally {
    await srv.close();
  }
});

test('stream plugins log as nodemailer does (plugin count, plugin errors)', async () => {
  const records = (lib) => {
    const out = [];
    const logger = {};
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
      logger[level] = (entry, ...args) => {
        if (entry.tnx === 'transaction' || entry.tnx === 'plugin') {
          out.push({ level, component: entry.component, tnx: entry.tnx, step: entry.step, pluginCount: entry.pluginCount, action: entry.action, err: entry.err && entry.err.message, args });
        }
      };
    }
    return { out, t: lib.createTransport({ streamTransport: true, buffer: true, logger }) };
  };
  const ours = records({ createTransport });
  const theirs = records(nodemailer);
  for (const { t } of [ours, theirs]) {
    t.use('stream', upper);
    await t.sendMail(MAIL);
    t.use('stream', (mail, done) => done(new Error('logged failure')));
    await assert.rejects(t.sendMail(MAIL), /logged failure/);
  }
  assert.ok(ours.out.length >= 3);
  assert.deepEqual(ours.out, theirs.out);
});

test('a message with large inline text (composed off the JS thread) goes through the plugins too', async () => {
  const srv = await startSmtpServer();
  try {
    const t = createTransport(smtpOptions(srv));
    t.use('stream', upper);
    const text = 'abc def\n'.repeat(40 * 1024); // 320 KB
    await t.sendMail(Object.assign({}, MAIL, { text }));
    const raw = srv.messages[0].raw.toString();
    assert.match(raw, /^SUBJECT: PLUGINS\r$/m);
    assert.equal(raw.split('ABC DEF\r\n').length - 1, 40 * 1024);
    // a message that cannot be composed fails as it does without plugins, small or large
    const plain = createTransport(smtpOptions(srv));
    for (const size of [10, 300 * 1024]) {
      const bad = Object.assign({}, MAIL, { text: 'x'.repeat(size), disableFileAccess: true, attachments: [{ path: '/etc/hostname' }] });
      const expected = await plain.sendMail(bad).catch((e) => e);
      assert.equal(expected.code, 'EFILEACCESS');
      await assert.rejects(t.sendMail(bad), { code: expected.code, message: expected.message });
    }
    assert.equal(srv.messages.length, 1);
  } finally {
    await srv.close();
  }
});

test('the sendmail and SES transports refuse stream plugins (ECONFIG) rather than ignore them', () => {
  const ses = { SES: { sesClient: { send: async () => ({}) }, SendEmailCommand: class {} } };
  for (const options of [{ sendmail: true }, ses]) {
    const t = createTransport(options);
    assert.throws(() => t.use('stream', upper), { code: 'ECONFIG' });
    // compile plugins are fine
    t.use('compile', (mail, done) => done());
  }
});

test("the message's own newline applies after the plugins, before the transport's (streamTransport)", async () => {
  for (const [msgNl, trNl] of [['unix', undefined], ['windows', 'unix'], [undefined, 'windows']]) {
    const mail = Object.assign({}, MAIL, { text: 'hello world\r\nsecond line', newline: msgNl });
    const a = await createTransport({ streamTransport: true, buffer: true, newline: trNl }).use('stream', trailer('tail\n')).sendMail(mail);
    const b = await nodemailer.createTransport({ streamTransport: true, buffer: true, newline: trNl }).use('stream', trailer('tail\n')).sendMail(mail);
    assert.equal(a.message.toString('latin1'), b.message.toString('latin1'), `${msgNl} ${trNl}`);
  }
});
