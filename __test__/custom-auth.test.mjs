// `customAuth`: a SASL mechanism of the user's own, run by a JS handler while Rust drives the
// connection. A scripted server speaks X-CHALLENGE, a two-step challenge-response (each step
// answers a nonce with an HMAC of it keyed by the password). mailer-rs and nodemailer run the
// same handlers side by side against it: same handler context, same sendCommand replies, same
// errors, same masked log lines; single connection and pool.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import util from 'node:util';
import nodemailer from 'nodemailer';
import { createTransport } from '../index.mjs';
import { startRawServer } from './helpers/raw.mjs';

const USER = 'alice@example.com';
const PASS = 'correct horse battery staple';
const proof = (nonce) => crypto.createHmac('sha256', PASS).update(nonce).digest('base64');
const msg = (i = 0) => ({ from: 'sender@example.com', to: 'rcpt@example.com', subject: `m${i}`, text: `message ${i}` });

const IMPLS = {
  'mailer-rs': (o) => createTransport(o),
  nodemailer: (o) => nodemailer.createTransport(o),
};

/**
 * SMTP server with X-CHALLENGE. `stall`: answer nothing after the first step (a handler that
 * waits for a reply that never comes is tested apart, see `silent`).
 */
async function startServer() {
  const logins = [];
  const srv = await startRawServer(async (c) => {
    c.write('220 test ESMTP\r\n');
    for (;;) {
      const line = await c.readLine();
      if (line === null) return;
      const [verb] = line.split(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          c.write('250-test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 5000000\r\n250 AUTH PLAIN LOGIN X-CHALLENGE\r\n');
          break;
        case 'AUTH': {
          const [, mech, user] = line.split(' ');
          if (mech !== 'X-CHALLENGE' || user !== USER) {
            c.write('504 5.5.4 Unrecognized\r\n');
            break;
          }
          let ok = true;
          for (const nonce of ['bm9uY2Ux', 'bm9uY2Uy']) {
            c.write(`334 ${nonce}\r\n`);
            const answer = await c.readLine();
            if (answer === null) return;
            if (answer !== proof(nonce)) ok = false;
          }
          logins.push(ok);
          c.write(ok ? '235 2.7.0 Authentication successful\r\n' : '535 5.7.8 Authentication credentials invalid\r\n');
          break;
        }
        case 'MAIL':
        case 'RCPT':
          c.write('250 2.1.0 OK\r\n');
          break;
        case 'DATA':
          c.write('354 go ahead\r\n');
          if ((await c.readUntil('\r\n.\r\n')) === null) return;
          c.write('250 2.0.0 queued\r\n');
          break;
        case 'RSET':
          c.write('250 2.0.0 OK\r\n');
          break;
        case 'QUIT':
          c.write('221 2.0.0 bye\r\n');
          c.end();
          return;
        default:
          c.write('502 5.5.2 unknown\r\n');
      }
    }
  });
  srv.logins = logins;
  return srv;
}

/** The two-step handler (promise form); records what it saw. */
function promiseHandler(seen) {
  return async (ctx) => {
    const { sendCommand, resolve, reject, ...rest } = ctx;
    seen.push({ ctx: JSON.parse(JSON.stringify(rest)), fns: [typeof sendCommand, typeof resolve, typeof reject] });
    let r = await ctx.sendCommand(`AUTH X-CHALLENGE ${ctx.auth.credentials.user}`);
    seen.push(r);
    r = await ctx.sendCommand(proof(r.text));
    seen.push(r);
    r = await ctx.sendCommand(proof(r.text));
    seen.push(r);
    if (r.status !== 235) throw new Error('Login refused');
  };
}

/** The same with callbacks and an explicit ctx.resolve(). */
function callbackHandler(seen) {
  return (ctx) => {
    ctx.sendCommand(`AUTH X-CHALLENGE ${ctx.auth.user}`, (err, r1) => {
      if (err) return ctx.reject(err);
      ctx.sendCommand(proof(r1.text), (err, r2) => {
        if (err) return ctx.reject(err);
        ctx.sendCommand(proof(r2.text), (err, r3) => {
          if (err) return ctx.reject(err);
          seen.push(r1, r2, r3);
          if (r3.status === 235) ctx.resolve();
          else ctx.reject('Login refused');
        });
      });
    });
  };
}

function recorder() {
  const records = [];
  const logger = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = (fields, ...args) => records.push({ level, tnx: fields && fields.tnx, msg: util.format(...args) });
  }
  return { logger, records };
}

const errorFields = (e) => ({ code: e.code, message: e.message, response: e.response, responseCode: e.responseCode, command: e.command });

describe('customAuth', () => {
  test('two-step mechanism, promise handler: context, replies, masked log lines as nodemailer', async () => {
    const srv = await startServer();
    try {
      const out = {};
      for (const [name, make] of Object.entries(IMPLS)) {
        const seen = [];
        const { logger, records } = recorder();
        const t = make({
          host: '127.0.0.1',
          port: srv.port,
          ignoreTLS: true,
          logger,
          debug: true,
          auth: { type: 'custom', method: 'X-CHALLENGE', user: USER, pass: PASS, options: { tenant: 't1' } },
          customAuth: { 'x-challenge': promiseHandler(seen) },
        });
        const info = await t.sendMail(msg());
        assert.deepEqual(info.accepted, ['rcpt@example.com'], name);
        assert.equal(info.response, '250 2.0.0 queued');
        const client = records.filter((r) => r.tnx === 'client').map((r) => r.msg);
        out[name] = { seen, client };
        const all = records.map((r) => r.msg).join('\n');
        assert.ok(!all.includes(PASS), `${name}: password in the log`);
        assert.ok(!all.includes(proof('bm9uY2Ux')), `${name}: proof in the log`);
        assert.ok(records.some((r) => /User "alice@example.com" authenticated/.test(r.msg)), name);
        t.close();
      }
      const ours = out['mailer-rs'];
      const theirs = out.nodemailer;
      assert.deepEqual(ours.seen, theirs.seen);
      assert.deepEqual(ours.seen[0].ctx, {
        auth: {
          type: 'CUSTOM',
          user: USER,
          credentials: { user: USER, pass: PASS, options: { tenant: 't1' } },
          method: 'X-CHALLENGE',
        },
        method: 'X-CHALLENGE',
        extensions: ['8BITMIME', 'PIPELINING', 'SIZE'],
        authMethods: ['PLAIN', 'LOGIN'],
        maxAllowedSize: 5000000,
      });
      assert.deepEqual(ours.seen[1], { command: `AUTH X-CHALLENGE ${USER}`, response: '334 bm9uY2Ux', status: 334, text: 'bm9uY2Ux' });
      assert.deepEqual(ours.seen[3], {
        command: proof('bm9uY2Uy'),
        response: '235 2.7.0 Authentication successful',
        status: 235,
        code: '2.7.0',
        text: 'Authentication successful',
      });
      const authLines = (c) => c.filter((l) => !/^(EHLO|MAIL|RCPT|DATA|QUIT)/.test(l));
      assert.deepEqual(authLines(ours.client), ['AUTH X-CHALLENGE /* secret */', '/* secret */', '/* secret */']);
      assert.deepEqual(authLines(ours.client), authLines(theirs.client));
      assert.deepEqual(srv.logins, [true, true]);
    } finally {
      await srv.close();
    }
  });

  test('callback form of sendCommand with ctx.resolve(); verify() logs in the same way', async () => {
    const srv = await startServer();
    try {
      const seen = [];
      const t = createTransport({
        host: '127.0.0.1',
        port: srv.port,
        auth: { type: 'custom', method: 'X-CHALLENGE', user: USER, pass: PASS },
        customAuth: { 'X-CHALLENGE': callbackHandler(seen) },
      });
      assert.equal(await t.verify(), true);
      const info = await t.sendMail(msg());
      assert.deepEqual(info.accepted, ['rcpt@example.com']);
      assert.equal(seen.length, 6);
      assert.equal(seen[2].status, 235);
      assert.deepEqual(srv.logins, [true, true]);
    } finally {
      await srv.close();
    }
  });

  test('pool: one login per connection, every message sent', async () => {
    const srv = await startServer();
    try {
      const seen = [];
      const t = createTransport({
        pool: true,
        maxConnections: 2,
        host: '127.0.0.1',
        port: srv.port,
        auth: { type: 'custom', method: 'X-CHALLENGE', user: USER, pass: PASS },
        customAuth: { 'X-CHALLENGE': promiseHandler(seen) },
      });
      const infos = await Promise.all(Array.from({ length: 6 }, (_, i) => t.sendMail(msg(i))));
      for (const info of infos) assert.deepEqual(info.accepted, ['rcpt@example.com']);
      assert.ok(srv.logins.length >= 1 && srv.logins.length <= 2, `logins: ${srv.logins.length}`);
      assert.ok(srv.logins.every(Boolean));
      assert.equal(srv.sessions.length, srv.logins.length, 'one login per connection');
      t.close();
    } finally {
      await srv.close();
    }
  });

  test('a wrong answer: the server refuses, the handler rejects, EAUTH with the last reply (as nodemailer)', async () => {
    const srv = await startServer();
    try {
      const errs = {};
      for (const [name, make] of Object.entries(IMPLS)) {
        for (const pool of [false, true]) {
          const t = make({
            pool,
            host: '127.0.0.1',
            port: srv.port,
            auth: { type: 'custom', method: 'X-CHALLENGE', user: USER, pass: 'wrong' },
            customAuth: {
              'X-CHALLENGE': async (ctx) => {
                let r = await ctx.sendCommand(`AUTH X-CHALLENGE ${ctx.auth.user}`);
                r = await ctx.sendCommand(crypto.createHmac('sha256', 'wrong').update(r.text).digest('base64'));
                r = await ctx.sendCommand(crypto.createHmac('sha256', 'wrong').update(r.text).digest('base64'));
                if (r.status !== 235) ctx.reject(new Error('Login refused'));
                else ctx.resolve();
              },
            },
          });
          const e = await t.sendMail(msg()).then(
            () => null,
            (err) => err
          );
          assert.ok(e, `${name} pool=${pool}: must fail`);
          errs[`${name}:${pool}`] = errorFields(e);
          t.close();
        }
      }
      const expected = {
        code: 'EAUTH',
        message: 'Login refused: 535 5.7.8 Authentication credentials invalid',
        response: '535 5.7.8 Authentication credentials invalid',
        responseCode: 535,
        command: 'AUTH X-CHALLENGE',
      };
      for (const [k, v] of Object.entries(errs)) assert.deepEqual(v, expected, k);
    } finally {
      await srv.close();
    }
  });

  test('a handler that throws, one that rejects with a string, one that never answers', async () => {
    const srv = await startServer();
    try {
      const cases = {
        throws: () => {
          throw new Error('handler broke');
        },
        rejectsString: async (ctx) => {
          await ctx.sendCommand(`AUTH X-CHALLENGE ${ctx.auth.user}`);
          throw 'no luck'; // eslint-disable-line no-throw-literal
        },
        silent: () => new Promise(() => {}),
      };
      for (const pool of [false, true]) {
        const results = {};
        for (const [name, handler] of Object.entries(cases)) {
          const t = createTransport({
            pool,
            host: '127.0.0.1',
            port: srv.port,
            socketTimeout: 400,
            auth: { type: 'custom', method: 'X-CHALLENGE', user: USER, pass: PASS },
            customAuth: { 'X-CHALLENGE': handler },
          });
          const started = Date.now();
          const e = await t.sendMail(msg()).then(
            () => null,
            (err) => err
          );
          assert.ok(e, `${name} pool=${pool}: must fail`);
          results[name] = { ...errorFields(e), ms: Date.now() - started };
          t.close();
        }
        assert.deepEqual(
          { ...results.throws, ms: 0 },
          { code: 'EAUTH', message: 'handler broke', response: undefined, responseCode: undefined, command: 'AUTH X-CHALLENGE', ms: 0 },
          `pool=${pool}`
        );
        assert.deepEqual(
          { ...results.rejectsString, ms: 0 },
          { code: 'EAUTH', message: 'no luck: 334 bm9uY2Ux', response: '334 bm9uY2Ux', responseCode: 334, command: 'AUTH X-CHALLENGE', ms: 0 },
          `pool=${pool}`
        );
        // nodemailer: the socket's idle timer ends the session (ETIMEDOUT, 'Timeout', CONN)
        const { ms, ...silent } = results.silent;
        assert.deepEqual(silent, { code: 'ETIMEDOUT', message: 'Timeout', response: undefined, responseCode: undefined, command: 'CONN' }, `pool=${pool}`);
        assert.ok(ms >= 350, `timed out after ${ms} ms`);
      }
    } finally {
      await srv.close();
    }
  });

  test('nodemailer, the silent handler: the same timeout error', async () => {
    const srv = await startServer();
    try {
      const t = nodemailer.createTransport({
        host: '127.0.0.1',
        port: srv.port,
        socketTimeout: 400,
        auth: { type: 'custom', method: 'X-CHALLENGE', user: USER, pass: PASS },
        customAuth: { 'X-CHALLENGE': () => new Promise(() => {}) },
      });
      const e = await t.sendMail(msg()).then(
        () => null,
        (err) => err
      );
      assert.deepEqual(errorFields(e), { code: 'ETIMEDOUT', message: 'Timeout', response: undefined, responseCode: undefined, command: 'CONN' });
    } finally {
      await srv.close();
    }
  });

  test('a handler for a built-in name replaces it; no handler for the method: built-in login', async () => {
    const srv = await startServer();
    try {
      let called = 0;
      const t = createTransport({
        host: '127.0.0.1',
        port: srv.port,
        auth: { user: USER, pass: PASS, method: 'PLAIN' },
        customAuth: {
          PLAIN: async (ctx) => {
            called++;
            assert.equal(ctx.method, 'PLAIN');
            await ctx.sendCommand(`AUTH X-CHALLENGE ${ctx.auth.user}`).then((r) => ctx.sendCommand(proof(r.text))).then((r) => ctx.sendCommand(proof(r.text)));
          },
        },
      });
      await t.sendMail(msg());
      assert.equal(called, 1);
      assert.deepEqual(srv.logins, [true]);
    } finally {
      await srv.close();
    }
  });
});
