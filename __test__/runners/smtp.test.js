'use strict';
// One SMTP transport per test, as an application's test suite would use mailer-rs. Every value
// the library hands back must belong to this file's realm: jest runs each test file in a vm
// context with its own Array, Object and Error, where a value made elsewhere fails
// toBeInstanceOf even though it looks right.
const nodemailer = require('../../index.js');
const { startSmtp, startTokenEndpoint } = require('./support/peers');

let smtp;
let oauth;
const tokens = new Set();

beforeAll(async () => {
  smtp = await startSmtp({ tokens });
  oauth = await startTokenEndpoint(tokens);
});

afterAll(async () => {
  await smtp.close();
  await oauth.close();
});

function transport(extra) {
  return nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, ...extra });
}

const message = { from: 'sender@example.com', to: 'one@example.com, two@example.com', subject: 'Hello', text: 'Hello from a test runner' };

describe('SMTP transport', () => {
  test('sendMail resolves with an info object of this realm', async () => {
    const t = transport();
    try {
      const info = await t.sendMail(message);
      expect(info).toBeInstanceOf(Object);
      expect(info.accepted).toBeInstanceOf(Array);
      expect(info.rejected).toBeInstanceOf(Array);
      expect(info.envelope.to).toBeInstanceOf(Array);
      expect(info.ehlo).toBeInstanceOf(Array);
      expect(info.accepted).toEqual(['one@example.com', 'two@example.com']);
      expect(info.rejected).toEqual([]);
      expect(info.envelope).toEqual({ from: 'sender@example.com', to: ['one@example.com', 'two@example.com'] });
      expect(info).toEqual(
        expect.objectContaining({
          accepted: ['one@example.com', 'two@example.com'],
          rejected: [],
          messageId: expect.stringMatching(/^<.+@.+>$/),
          response: expect.stringContaining('250'),
        })
      );
      expect(smtp.messages.at(-1).to).toEqual(['one@example.com', 'two@example.com']);
    } finally {
      t.close();
    }
  });

  test('a callback receives the same shapes', async () => {
    const t = transport();
    try {
      const info = await new Promise((resolve, reject) => t.sendMail(message, (err, i) => (err ? reject(err) : resolve(i))));
      expect(info.accepted).toBeInstanceOf(Array);
      expect(info.accepted).toEqual(['one@example.com', 'two@example.com']);
    } finally {
      t.close();
    }
  });

  test('a partly rejected send lists rejectedErrors as Errors', async () => {
    const t = transport();
    try {
      const info = await t.sendMail({ ...message, to: 'one@example.com, reject-me@example.com' });
      expect(info.accepted).toEqual(['one@example.com']);
      expect(info.rejected).toEqual(['reject-me@example.com']);
      expect(info.rejected).toBeInstanceOf(Array);
      expect(info.rejectedErrors).toBeInstanceOf(Array);
      expect(info.rejectedErrors).toHaveLength(1);
      const [e] = info.rejectedErrors;
      expect(e).toBeInstanceOf(Error);
      expect(e).toMatchObject({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', recipient: 'reject-me@example.com' });
    } finally {
      t.close();
    }
  });

  test('a failed send rejects with an Error of this realm', async () => {
    const t = transport();
    try {
      const err = await t.sendMail({ ...message, to: 'reject-a@example.com, reject-b@example.com' }).then(
        () => null,
        (e) => e
      );
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('EENVELOPE');
      expect(err.rejected).toBeInstanceOf(Array);
      expect(err.rejected).toEqual(['reject-a@example.com', 'reject-b@example.com']);
      expect(err.rejectedErrors).toBeInstanceOf(Array);
      expect(err.rejectedErrors[0]).toBeInstanceOf(Error);
      await expect(t.sendMail({ ...message, to: 'reject-c@example.com' })).rejects.toThrow(Error);
    } finally {
      t.close();
    }
  });

  test('a refused message (no recipients) is an Error of this realm', async () => {
    const t = transport();
    try {
      const err = await t.sendMail({ from: 'sender@example.com', text: 'x' }).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ code: 'EENVELOPE' });
    } finally {
      t.close();
    }
  });

  test('verify resolves true, and rejects with an Error when nothing listens', async () => {
    const t = transport();
    await expect(t.verify()).resolves.toBe(true);
    t.close();
    // a port of ours that just closed: connection refused
    const probe = await startSmtp();
    await probe.close();
    const dead = nodemailer.createTransport({ host: '127.0.0.1', port: probe.port, connectionTimeout: 2000 });
    try {
      const err = await dead.verify().catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('ESOCKET');
    } finally {
      dead.close();
    }
  });

  test('token events carry plain objects', async () => {
    const t = transport({
      auth: { type: 'OAuth2', user: 'oauth@example.com', clientId: 'id', clientSecret: 'secret', refreshToken: 'refresh', accessUrl: oauth.url },
    });
    try {
      const events = [];
      t.on('token', (ev) => events.push(ev));
      const info = await t.sendMail(message);
      expect(info.accepted).toEqual(['one@example.com', 'two@example.com']);
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(Object);
      expect(events[0]).toEqual({ user: 'oauth@example.com', accessToken: expect.stringMatching(/^token-/), expires: expect.any(Number) });
    } finally {
      t.close();
    }
  });

  test('a customAuth handler gets arrays and replies of this realm', async () => {
    const seen = {};
    const t = transport({
      auth: { type: 'CUSTOM', user: 'custom@example.com', pass: 'secret', method: 'PLAIN' },
      customAuth: {
        PLAIN: async (ctx) => {
          seen.extensions = ctx.extensions;
          seen.authMethods = ctx.authMethods;
          const token = Buffer.from(`\0${ctx.auth.credentials.user}\0${ctx.auth.credentials.pass}`).toString('base64');
          seen.reply = await ctx.sendCommand('AUTH PLAIN ' + token);
        },
      },
    });
    try {
      const info = await t.sendMail(message);
      expect(info.accepted).toEqual(['one@example.com', 'two@example.com']);
      expect(seen.extensions).toBeInstanceOf(Array);
      expect(seen.authMethods).toBeInstanceOf(Array);
      expect(seen.authMethods).toEqual(['PLAIN', 'XOAUTH2']);
      expect(seen.reply).toBeInstanceOf(Object);
      expect(seen.reply).toMatchObject({ status: 235 });
    } finally {
      t.close();
    }
  });

  test('a configuration error reaches the send as an Error of this realm', async () => {
    const t = transport({ proxy: 'bogus://127.0.0.1:1' });
    try {
      const err = await t.sendMail(message).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('EPROXY');
    } finally {
      t.close();
    }
  });
});
