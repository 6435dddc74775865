// OAuth2 against real peers on loopback: oauth2-mock-server (refresh-token grant), our own
// JWT-bearer endpoint that verifies service-account assertions, and smtp-server with XOAUTH2 that
// accepts only currently valid tokens and rejects stale ones the way Gmail does.
// Each example of the seed document (docs/oauth2.md) is a test here.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createTransport } from '../index.mjs';
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startMockOAuth, startJwtBearerEndpoint } from './helpers/oauth.mjs';

const USER = 'user@example.com';
const msg = (extra = {}) => ({ from: 'sender@example.com', to: 'recipient@example.com', subject: 'Message', text: 'I hope this message gets through!', ...extra });
const PAST = 1484314697598; // the document's `expires`: long gone

async function peers(opts = {}) {
  const oauth = await startMockOAuth(opts.oauth || {});
  const smtp = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens, ...(opts.smtp || {}) });
  const base = { host: 'localhost', port: smtp.port, tls: { ca: CERTS.ca } };
  return {
    oauth,
    smtp,
    base,
    async close() {
      await smtp.close();
      await oauth.close();
    },
  };
}

describe('seed document examples', () => {
  test('example 1: an existing token that the server accepts', async () => {
    const p = await peers();
    try {
      p.oauth.issuedTokens.add('ya29.valid-token');
      const t = createTransport({ ...p.base, auth: { type: 'OAuth2', user: USER, accessToken: 'ya29.valid-token' } });
      const info = await t.sendMail(msg());
      assert.deepEqual(info.accepted, ['recipient@example.com']);
      assert.equal(p.smtp.messages[0].user, USER);
      assert.equal(p.oauth.tokenRequests.length, 0);
    } finally {
      await p.close();
    }
  });

  test('example 1: a rejected token with no way to renew fails with EAUTH', async () => {
    const p = await peers();
    try {
      const t = createTransport({ ...p.base, auth: { type: 'OAuth2', user: USER, accessToken: 'ya29.stale' } });
      await assert.rejects(t.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.equal(err.command, 'AUTH XOAUTH2');
        assert.equal(err.responseCode, 535);
        assert.ok(!err.message.includes('ya29.stale'));
        return true;
      });
      assert.equal(p.smtp.messages.length, 0);
    } finally {
      await p.close();
    }
  });

  test('example 2: custom handler with transporter.set, token cached across messages', async () => {
    const p = await peers();
    try {
      const userTokens = { [USER]: 'provided-token-1' };
      p.oauth.issuedTokens.add('provided-token-1');
      const t = createTransport({ ...p.base, auth: { type: 'OAuth2', user: USER } });
      const calls = [];
      t.set('oauth2_provision_cb', (user, renew, callback) => {
        calls.push([user, renew]);
        const accessToken = userTokens[user];
        if (!accessToken) return callback(new Error('Unknown user'));
        return callback(null, accessToken);
      });
      await t.sendMail(msg());
      await t.sendMail(msg());
      assert.deepEqual(calls, [[USER, false]], 'called once, then cached');
      assert.equal(p.smtp.messages.length, 2);
      let tokenEvents = 0;
      t.on('token', () => tokenEvents++);
      // Rejected by the server: the callback is asked again with renew = true.
      p.oauth.issuedTokens.delete('provided-token-1');
      p.oauth.issuedTokens.add('provided-token-2');
      userTokens[USER] = 'provided-token-2';
      await t.sendMail(msg());
      assert.deepEqual(calls, [[USER, false], [USER, true]]);
      assert.equal(tokenEvents, 0, 'no token event for callback tokens');
    } finally {
      await p.close();
    }
  });

  test('example 2: the callback erroring, throwing, calling back twice, returning a Promise', async () => {
    const p = await peers();
    try {
      p.oauth.issuedTokens.add('promised');
      const t = createTransport({ ...p.base, auth: { type: 'OAuth2', user: 'nobody@example.com' } });
      t.set('oauth2_provision_cb', (user, renew, cb) => cb(new Error('Unknown user')));
      await assert.rejects(t.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.equal(err.command, 'AUTH XOAUTH2');
        assert.match(err.message, /Unknown user/);
        return true;
      });
      t.set('oauth2_provision_cb', () => {
        throw new Error('callback exploded');
      });
      await assert.rejects(t.sendMail(msg()), /callback exploded/);
      t.set('oauth2_provision_cb', (user, renew, cb) => {
        cb(null, 'promised');
        cb(new Error('second answer is ignored'));
      });
      assert.deepEqual((await t.sendMail(msg())).accepted, ['recipient@example.com']);

      const t2 = createTransport({ ...p.base, auth: { type: 'OAuth2', user: USER } });
      t2.set('oauth2_provision_cb', async (user) => ({ accessToken: 'promised', expires: Date.now() + 60000 }));
      assert.deepEqual((await t2.sendMail(msg())).accepted, ['recipient@example.com']);
    } finally {
      await p.close();
    }
  });

  test('example 2: auth.provisionCallback, and set() wins over it', async () => {
    const p = await peers();
    try {
      p.oauth.issuedTokens.add('from-set');
      const fromOption = [];
      const t = createTransport({
        ...p.base,
        auth: { type: 'OAuth2', user: USER, provisionCallback: (u, r, cb) => (fromOption.push(u), cb(null, 'from-option')) },
      });
      t.set('oauth2_provision_cb', (u, r, cb) => cb(null, 'from-set'));
      assert.deepEqual((await t.sendMail(msg())).accepted, ['recipient@example.com']);
      assert.deepEqual(fromOption, []);
    } finally {
      await p.close();
    }
  });

  test('example 3: 3LO, expired token refreshed first, token event before the send, rejected token renewed', async () => {
    const p = await peers();
    try {
      const t = createTransport({
        ...p.base,
        auth: {
          type: 'OAuth2',
          user: USER,
          clientId: '000000000000-xxx0.apps.googleusercontent.com',
          clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
          refreshToken: '1/XXxXxsss-xxxXXXXXxXxx0XXXxxXXx0x00xxx',
          accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
          expires: PAST,
          accessUrl: p.oauth.tokenUrl,
        },
      });
      const events = [];
      t.on('token', (tok) => events.push({ ...tok, messagesAtEvent: p.smtp.messages.length }));
      const before = Date.now();
      await t.sendMail(msg());
      assert.equal(p.oauth.tokenRequests.length, 1);
      assert.deepEqual(p.oauth.tokenRequests[0].body, {
        client_id: '000000000000-xxx0.apps.googleusercontent.com',
        client_secret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
        refresh_token: '1/XXxXxsss-xxxXXXXXxXxx0XXXxxXXx0x00xxx',
        grant_type: 'refresh_token',
      });
      assert.equal(events.length, 1);
      assert.equal(events[0].user, USER);
      assert.ok(p.oauth.issuedTokens.has(events[0].accessToken));
      assert.ok(events[0].expires >= before + 3500 * 1000 && events[0].expires <= Date.now() + 3600 * 1000, `expires ${events[0].expires}`);
      assert.equal(events[0].messagesAtEvent, 0, 'token event before the message was sent');
      assert.deepEqual(p.smtp.authAttempts.map((a) => a.accessToken), [events[0].accessToken], 'the stale token was never tried');

      // The server revokes the token: 334 challenge, renew, one retry.
      p.oauth.issuedTokens.clear();
      await t.sendMail(msg());
      assert.equal(p.oauth.tokenRequests.length, 2);
      assert.equal(events.length, 2);
      assert.equal(p.smtp.messages.length, 2);
    } finally {
      await p.close();
    }
  });

  test('example 4: 2LO service account against a JWT-bearer endpoint that checks every claim', async () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const serviceClient = '113600000000000000000';
    const jwt = await startJwtBearerEndpoint({ publicKey, serviceClient, user: USER });
    const smtp = await startSmtpServer({ xoauth2: true, validTokens: jwt.issuedTokens });
    try {
      const t = createTransport({
        host: 'localhost',
        port: smtp.port,
        tls: { ca: CERTS.ca },
        auth: {
          type: 'OAuth2',
          user: USER,
          serviceClient,
          privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
          accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
          expires: PAST,
          accessUrl: jwt.tokenUrl,
        },
      });
      const events = [];
      t.on('token', (tok) => events.push(tok));
      const info = await t.sendMail(msg());
      assert.deepEqual(info.accepted, ['recipient@example.com']);
      assert.equal(jwt.tokenRequests.length, 1);
      assert.equal(events.length, 1);
      assert.equal(events[0].user, USER);
      assert.ok(jwt.issuedTokens.has(events[0].accessToken));
      assert.equal(jwt.rejections.length, 0, JSON.stringify(jwt.rejections));
    } finally {
      await smtp.close();
      await jwt.close();
    }
  });

  test('example 4: a service account without privateKey is a clear EAUTH error, not a crash', async () => {
    const t = createTransport({ host: '127.0.0.1', port: 1, auth: { type: 'OAuth2', user: USER, serviceClient: '1136' } });
    await assert.rejects(t.sendMail(msg()), (err) => {
      assert.equal(err.code, 'EAUTH');
      assert.match(err.message, /privateKey/);
      return true;
    });
  });

  test('example 5: per-message auth merged with the transport clientId/clientSecret, cached per user', async () => {
    const p = await peers();
    try {
      const t = createTransport({
        ...p.base,
        auth: { type: 'OAuth2', clientId: 'cid.apps.googleusercontent.com', clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0', accessUrl: p.oauth.tokenUrl },
      });
      const auth = { user: USER, refreshToken: '1/XXxXxsss', accessToken: 'ya29.old', expires: PAST };
      await t.sendMail(msg({ auth }));
      await t.sendMail(msg({ auth }));
      await t.sendMail(msg({ auth: { user: 'other@example.com', refreshToken: '1/other' } }));
      assert.equal(p.smtp.messages.length, 3);
      assert.deepEqual(p.smtp.messages.map((m) => m.user), [USER, USER, 'other@example.com']);
      assert.equal(p.oauth.tokenRequests.length, 2, 'one refresh per user, not per message');
      assert.equal(p.oauth.tokenRequests[0].body.client_id, 'cid.apps.googleusercontent.com');
      assert.equal(p.oauth.tokenRequests[0].body.refresh_token, '1/XXxXxsss');
      assert.equal(p.oauth.tokenRequests[1].body.refresh_token, '1/other');
    } finally {
      await p.close();
    }
  });

  test('example 5 variant: per-message user with a custom handler', async () => {
    const p = await peers();
    try {
      const userTokens = { [USER]: 'tok-user' };
      p.oauth.issuedTokens.add('tok-user');
      const t = createTransport({ ...p.base, auth: { type: 'OAuth2' } });
      t.set('oauth2_provision_cb', (user, renew, callback) => {
        const accessToken = userTokens[user];
        if (!accessToken) return callback(new Error('Unknown user'));
        return callback(null, accessToken);
      });
      await t.sendMail(msg({ auth: { user: USER } }));
      assert.equal(p.smtp.messages[0].user, USER);
      await assert.rejects(t.sendMail(msg({ auth: { user: 'stranger@example.com' } })), /Unknown user/);
    } finally {
      await p.close();
    }
  });
});

describe('token endpoint faults', () => {
  const auth3lo = (p, extra = {}) => ({
    ...p.base,
    auth: { type: 'OAuth2', user: USER, clientId: 'cid', clientSecret: 'csecret-value', refreshToken: 'rtoken-secret-value', accessUrl: p.oauth.tokenUrl, ...extra },
  });
  const secrets = ['csecret-value', 'rtoken-secret-value'];

  test('revoked refresh token: EAUTH invalid_grant, no AUTH attempted, no token event, no secret in the error', async () => {
    const p = await peers();
    try {
      const t = createTransport(auth3lo(p));
      let events = 0;
      t.on('token', () => events++);
      p.oauth.failNext({ status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } });
      await assert.rejects(t.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.equal(err.command, 'AUTH XOAUTH2');
        assert.match(err.message, /invalid_grant: Token has been expired or revoked\./);
        for (const s of secrets) assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes(s));
        return true;
      });
      assert.equal(events, 0);
      assert.equal(p.smtp.authAttempts.length, 0);
    } finally {
      await p.close();
    }
  });

  for (const fault of ['http500', 'invalid_json']) {
    test(`endpoint answering ${fault}: EAUTH with the HTTP status, then recovers`, async () => {
      const p = await peers();
      try {
        const t = createTransport(auth3lo(p));
        p.oauth.failNext(fault);
        await assert.rejects(t.sendMail(msg()), (err) => {
          assert.equal(err.code, 'EAUTH');
          if (fault === 'http500') assert.match(err.message, /500/);
          return true;
        });
        assert.deepEqual((await t.sendMail(msg())).accepted, ['recipient@example.com']);
      } finally {
        await p.close();
      }
    });
  }

  test('endpoint that never answers: the request times out (auth.requestTimeout)', async () => {
    const p = await peers();
    try {
      const t = createTransport(auth3lo(p, { requestTimeout: 300 }));
      p.oauth.failNext('hang');
      const started = Date.now();
      await assert.rejects(t.sendMail(msg()), { code: 'EAUTH' });
      assert.ok(Date.now() - started < 5000);
    } finally {
      await p.close();
    }
  });

  test('a provisioning callback that never answers fails after requestTimeout', async () => {
    const p = await peers();
    try {
      const t = createTransport({ ...p.base, auth: { type: 'OAuth2', user: USER, requestTimeout: 300 } });
      t.set('oauth2_provision_cb', () => {});
      await assert.rejects(t.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.match(err.message, /did not answer/);
        return true;
      });
    } finally {
      await p.close();
    }
  });

  test('strict TLS for the token endpoint unless auth.tls says otherwise', async () => {
    const p = await peers({ oauth: { https: true } });
    try {
      // The SMTP side trusts the test CA; the token request does not inherit that trust.
      const noCa = createTransport(auth3lo(p));
      await assert.rejects(noCa.sendMail(msg()), (err) => {
        assert.equal(err.code, 'EAUTH');
        assert.match(err.message, /certificate|issuer|tls/i);
        return true;
      });
      assert.equal(p.oauth.tokenRequests.length, 0);
      const withCa = createTransport({ ...p.base, auth: { ...auth3lo(p).auth, tls: { ca: CERTS.ca } } });
      assert.deepEqual((await withCa.sendMail(msg())).accepted, ['recipient@example.com']);
    } finally {
      await p.close();
    }
  });
});

describe('one refresh at a time', () => {
  test('100 concurrent sends with an expired token make exactly one token request and one token event', async () => {
    const p = await peers();
    try {
      const t = createTransport({
        ...p.base,
        auth: { type: 'OAuth2', user: USER, clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt', accessToken: 'old', expires: PAST, accessUrl: p.oauth.tokenUrl },
      });
      const events = [];
      t.on('token', (e) => events.push(e));
      const infos = await Promise.all(Array.from({ length: 100 }, (_, i) => t.sendMail(msg({ subject: `m${i}` }))));
      assert.equal(infos.length, 100);
      assert.equal(p.oauth.tokenRequests.length, 1);
      assert.equal(events.length, 1);
      assert.equal(p.smtp.messages.length, 100);
    } finally {
      await p.close();
    }
  });

  test('concurrent sends share a refresh error', async () => {
    const p = await peers();
    try {
      const t = createTransport({
        ...p.base,
        ignoreTLS: true,
        auth: { type: 'OAuth2', user: USER, clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt', accessUrl: p.oauth.tokenUrl },
      });
      // The answer comes late, so every send is waiting on the same refresh when it fails.
      p.oauth.failNext({ status: 400, body: { error: 'invalid_grant', error_description: 'Bad Request' }, delay: 1500 });
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => t.sendMail(msg())));
      assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'EAUTH' && /invalid_grant/.test(r.reason.message)));
      assert.equal(p.oauth.tokenRequests.length, 1);
    } finally {
      await p.close();
    }
  });
});
