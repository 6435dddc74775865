'use strict';
// Transports that compose without sending: their results are made from what the native
// composer returns, and must belong to this file's realm like everything else.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const nodemailer = require('../../index.js');

const message = { from: 'sender@example.com', to: ['one@example.com', 'Two <two@example.com>'], subject: 'Composed', text: 'Hello' };

describe('composition transports', () => {
  test('streamTransport with buffer: true', async () => {
    const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const info = await t.sendMail(message);
    expect(info).toBeInstanceOf(Object);
    expect(info.envelope).toEqual({ from: 'sender@example.com', to: ['one@example.com', 'two@example.com'] });
    expect(info.envelope.to).toBeInstanceOf(Array);
    expect(Buffer.isBuffer(info.message)).toBe(true);
    expect(info.message.toString()).toContain('Subject: Composed');
    expect(info.messageId).toMatch(/^<.+@.+>$/);
  });

  test('streamTransport with a stream', async () => {
    const t = nodemailer.createTransport({ streamTransport: true });
    const info = await t.sendMail(message);
    const chunks = [];
    for await (const c of info.message) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toContain('Hello');
    expect(info.envelope.to).toBeInstanceOf(Array);
  });

  test('jsonTransport', async () => {
    const t = nodemailer.createTransport({ jsonTransport: true });
    const info = await t.sendMail(message);
    expect(info.envelope).toEqual({ from: 'sender@example.com', to: ['one@example.com', 'two@example.com'] });
    expect(info.envelope.to).toBeInstanceOf(Array);
    expect(JSON.parse(info.message)).toMatchObject({ subject: 'Composed', text: 'Hello' });
    const raw = await nodemailer.createTransport({ jsonTransport: true, skipEncoding: true }).sendMail(message);
    expect(raw.envelope.to).toBeInstanceOf(Array);
    expect(raw.message).toBeInstanceOf(Object);
  });

  test('a composition error is an Error of this realm', async () => {
    const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const err = await t.sendMail({ ...message, attachments: [{ path: '/nonexistent/mailer-rs/file' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('EFILEACCESS');
  });

  test('sendmail transport', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-runners-'));
    try {
      // a stand-in sendmail that reads the message (a shell script: not on Windows)
      if (process.platform !== 'win32') {
        const bin = path.join(dir, 'sendmail');
        fs.writeFileSync(bin, '#!/bin/sh\ncat > /dev/null\n', { mode: 0o755 });
        const info = await nodemailer.createTransport({ sendmail: true, path: bin }).sendMail(message);
        expect(info.envelope).toEqual({ from: 'sender@example.com', to: ['one@example.com', 'two@example.com'] });
        expect(info.envelope.to).toBeInstanceOf(Array);
      }
      const missing = path.join(dir, 'no-such-sendmail');
      const err = await nodemailer.createTransport({ sendmail: true, path: missing }).sendMail(message).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('well-known services and URLs give plain options', () => {
    const t = nodemailer.createTransport({ service: 'Gmail' });
    expect(t.transporter.options).toMatchObject({ host: 'smtp.gmail.com', port: 465, secure: true });
    t.close();
    const u = nodemailer.createTransport('smtp://user:pass@127.0.0.1:2525/?pool=true');
    expect(u.transporter.options.auth).toBeInstanceOf(Object);
    expect(u.transporter.options.auth).toEqual({ user: 'user', pass: 'pass' });
    u.close();
  });
});
