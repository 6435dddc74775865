// Who a cached OAuth2 token belongs to (issue 13, points 1 and 2), against real peers on loopback:
// a strict token endpoint that checks client secrets and refresh tokens and binds every access
// token to its user, and smtp-server that accepts an XOAUTH2 token only for that user.
//
// 1. A cached token is reused only by a request that presents the same credentials: a per-message
//    `auth` naming a cached user with a bogus refresh token, a bogus access token or nothing at all
//    fails with EAUTH (as nodemailer, run side by side), on a single connection and on the pool,
//    and never changes the credentials the transport holds.
// 2. Token requests never follow a redirect to another origin (the form body carries the client
//    secret and the refresh token; custom headers may carry an API key).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import nodemailer from 'nodemailer';
import { createTransport } from '../index.mjs';
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startStrictOAuth } from './helpers/oauth.mjs';

const ALICE = 'alice@x.test';
const BOB = 'bob@x.test';
const CID = 'cid.apps.example';
const CS = 'client-secret-SENTINEL';
const RT_A = '1/rt-alice-SENTINEL';
const RT_B = '1/rt-bob-SENTINEL';
const RT_BOGUS = '1/RT_BOGUS';
const AT_BOGUS = 'ya29.AT_BOGUS';
const JOSE_NFC = 'jos\u00e9@x.test';
const JOSE_NFD = 'jose\u0301@x.test';
const RT_J = '1/rt-jose-SENTINEL';

const msg = (auth) => ({ from: 'sender@x.test', to: 'rcpt@x.test', subject: 's', text: 't', ...(auth ? { auth } : {}) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Real time that must pass, not an event: tokens issued with `expiresIn = 1` (s) are expired on
// the clock after this long, and what is checked is the next send after their expiry.
const TOKEN_EXPIRED_AFTER_MS = 1200;

async function peers() {
  const oauth = await startStrictOAuth({ clients: { [CID]: CS }, grants: { [RT_A]: ALICE, [RT_B]: BOB, [RT_J]: JOSE_NFC } });
  const smtp = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
  return {
    oauth,
    smtp,
    base: { host: 'localhost', port: smtp.port, tls: { ca: CERTS.ca } },
    async close() {
      await smtp.close();
      await oauth.close();
    },
  };
}

/** 'ok', or the error's code (never throws): the outcome compared across implementations. */
async function outcome(t, mail) {
  try {
    await t.sendMail(mail);
    return 'ok';
  } catch (err) {
    return err.code || 'error';
  }
}

const IMPLS = {
  'mailer-rs': (o) => createTransport(o),
  'mailer-rs pool': (o) => createTransport({ ...o, pool: true }),
  nodemailer: (o) => nodemailer.createTransport(o),
};

/** Transport holds the application's client credentials; users come with each message (example 5). */
async function perMessageUsers(make) {
  const p = await peers();
  const t = make({ ...p.base, auth: { type: 'OAuth2', clientId: CID, clientSecret: CS, accessUrl: p.oauth.tokenUrl } });
  const r = {};
  try {
    r.warm = await outcome(t, msg({ user: ALICE, refreshToken: RT_A }));
    r.bogusRefresh = await outcome(t, msg({ user: ALICE, refreshToken: RT_BOGUS }));
    r.bogusAccess = await outcome(t, msg({ user: ALICE, accessToken: AT_BOGUS }));
    r.noCredential = await outcome(t, msg({ user: ALICE }));
    r.again = await outcome(t, msg({ user: ALICE, refreshToken: RT_A }));
    r.delivered = p.smtp.messages.map((m) => m.user);
    r.grants = p.oauth.tokenRequests.map((q) => `${q.body.refresh_token}:${q.answer}`);
  } finally {
    t.close();
    await p.close();
  }
  return r;
}

describe('per-message auth: a cached token is reused only with the same credentials', () => {
  for (const name of Object.keys(IMPLS)) {
    test(`${name}: bogus refresh token, bogus access token and no credential fail with EAUTH`, async () => {
      const r = await perMessageUsers(IMPLS[name]);
      assert.equal(r.warm, 'ok');
      assert.equal(r.bogusRefresh, 'EAUTH');
      assert.equal(r.bogusAccess, 'EAUTH');
      assert.equal(r.noCredential, 'EAUTH');
      assert.equal(r.again, 'ok');
      assert.deepEqual(r.delivered, [ALICE, ALICE]);
      assert.ok(r.grants.includes(`${RT_BOGUS}:invalid_grant`), `the bogus refresh token was tried: ${r.grants}`);
      if (name !== 'nodemailer') {
        // one refresh for Alice's real credentials, one refused for the bogus ones, cached otherwise
        assert.deepEqual(r.grants, [`${RT_A}:ok`, `${RT_BOGUS}:invalid_grant`]);
      }
    });
  }

  for (const name of ['mailer-rs', 'mailer-rs pool']) {
    test(`${name}: a per-message refresh token never replaces the transport's (her sends keep working after expiry)`, async () => {
      const p = await peers();
      // pool: one message per connection, so every send logs in again with the token of the moment
      const t = IMPLS[name]({
        ...p.base,
        maxMessages: 1,
        auth: { type: 'OAuth2', user: ALICE, clientId: CID, clientSecret: CS, refreshToken: RT_A, accessUrl: p.oauth.tokenUrl },
      });
      try {
        p.oauth.expiresIn = 1;
        assert.equal(await outcome(t, msg()), 'ok');
        await assert.rejects(t.sendMail(msg({ refreshToken: RT_BOGUS })), (err) => {
          assert.equal(err.code, 'EAUTH');
          assert.match(err.message, /invalid_grant/);
          assert.ok(!err.message.includes(RT_BOGUS) && !err.message.includes(RT_A));
          return true;
        });
        await sleep(TOKEN_EXPIRED_AFTER_MS); // Alice's token has expired
        p.oauth.expiresIn = 3600;
        assert.equal(await outcome(t, msg()), 'ok', 'the transport still refreshes with its own refresh token');
        const before = p.oauth.tokenRequests.length;
        // the same credentials (merged over the transport's) share the transport's token
        assert.equal(await outcome(t, msg({ user: ALICE })), 'ok');
        assert.equal(p.oauth.tokenRequests.length, before);
        assert.deepEqual(
          p.oauth.tokenRequests.map((q) => `${q.body.refresh_token}:${q.answer}`),
          [`${RT_A}:ok`, `${RT_BOGUS}:invalid_grant`, `${RT_A}:ok`]
        );
        assert.deepEqual(p.smtp.messages.map((m) => m.user), [ALICE, ALICE, ALICE]);
      } finally {
        t.close();
        await p.close();
      }
    });

    test(`${name}: a revoked refresh token stops the user's sends once the cached token expires`, async () => {
      const p = await peers();
      // pool: the connections logged in before the revocation stay open and idle
      const t = IMPLS[name]({ ...p.base, auth: { type: 'OAuth2', clientId: CID, clientSecret: CS, accessUrl: p.oauth.tokenUrl } });
      try {
        p.oauth.expiresIn = 1;
        assert.equal(await outcome(t, msg({ user: ALICE, refreshToken: RT_A })), 'ok');
        assert.equal(await outcome(t, msg({ user: BOB, refreshToken: RT_B })), 'ok');
        p.oauth.revoke(RT_A);
        await sleep(TOKEN_EXPIRED_AFTER_MS);
        await assert.rejects(t.sendMail(msg({ user: ALICE, refreshToken: RT_A })), (err) => {
          assert.equal(err.code, 'EAUTH');
          assert.match(err.message, /invalid_grant/);
          return true;
        });
        // nor may Alice borrow anything without credentials, or with Bob's user name
        assert.equal(await outcome(t, msg({ user: ALICE })), 'EAUTH');
        assert.equal(await outcome(t, msg({ user: BOB, refreshToken: RT_B })), 'ok');
        assert.deepEqual(p.smtp.messages.map((m) => m.user), [ALICE, BOB, BOB]);
      } finally {
        t.close();
        await p.close();
      }
    });

    test(`${name}: user names differing in case or Unicode normalisation are different identities`, async () => {
      const p = await peers();
      const t = IMPLS[name]({ ...p.base, auth: { type: 'OAuth2', clientId: CID, clientSecret: CS, accessUrl: p.oauth.tokenUrl } });
      try {
        assert.equal(await outcome(t, msg({ user: ALICE, refreshToken: RT_A })), 'ok');
        assert.equal(await outcome(t, msg({ user: JOSE_NFC, refreshToken: RT_J })), 'ok');
        for (const [other, rt] of [
          ['Alice@x.test', RT_A],
          [JOSE_NFD, RT_J],
        ]) {
          // without credentials: nothing to borrow
          assert.equal(await outcome(t, msg({ user: other })), 'EAUTH', other);
          // with the same refresh token: token requests of its own, never the cached token
          const known = new Set(p.oauth.issuedTokens.keys());
          const before = p.oauth.tokenRequests.length;
          const attempts = p.smtp.authAttempts.length;
          await outcome(t, msg({ user: other, refreshToken: rt }));
          assert.ok(p.oauth.tokenRequests.length > before, other);
          const tried = p.smtp.authAttempts.slice(attempts).filter((a) => a.username === other);
          assert.ok(tried.length > 0, `logged in as ${JSON.stringify(other)}`);
          for (const a of tried) assert.ok(!known.has(a.accessToken), `${other} used a token cached for another spelling`);
        }
        assert.deepEqual(p.smtp.messages.map((m) => m.user), [ALICE, JOSE_NFC]);
      } finally {
        t.close();
        await p.close();
      }
    });
  }

  for (const name of Object.keys(IMPLS)) {
    test(`${name}: per-message clientSecret and accessUrl are ignored (the transport's are used, nothing goes elsewhere)`, async () => {
      const p = await peers();
      const trap = await recorder((req, res) => res.writeHead(400).end());
      const t = IMPLS[name]({ ...p.base, auth: { type: 'OAuth2', clientId: CID, clientSecret: CS, accessUrl: p.oauth.tokenUrl } });
      try {
        assert.equal(await outcome(t, msg({ user: ALICE, refreshToken: RT_A })), 'ok');
        const r = await outcome(t, msg({ user: BOB, refreshToken: RT_B, clientSecret: 'WRONG', clientId: 'other', accessUrl: trap.url + '/token' }));
        assert.equal(r, 'ok');
        assert.equal(trap.requests.length, 0);
        assert.deepEqual(
          p.oauth.tokenRequests.map((q) => [q.body.client_id, q.body.client_secret, q.answer]),
          [[CID, CS, 'ok'], [CID, CS, 'ok']]
        );
      } finally {
        t.close();
        await p.close();
        await trap.close();
      }
    });

    test(`${name}: per-message { user } takes its token from the transport's provisioning callback`, async () => {
      const p = await peers();
      const asked = [];
      const provisioned = { [ALICE]: 'ya29.prov-alice', [BOB]: 'ya29.prov-bob' };
      for (const [u, tok] of Object.entries(provisioned)) p.oauth.issuedTokens.set(tok, u);
      const t = IMPLS[name]({ ...p.base, auth: { type: 'OAuth2', clientId: CID, clientSecret: CS, accessUrl: p.oauth.tokenUrl } });
      t.set('oauth2_provision_cb', (user, renew, cb) => {
        asked.push(user);
        return provisioned[user] ? cb(null, provisioned[user]) : cb(new Error('Unknown user'));
      });
      try {
        assert.equal(await outcome(t, msg({ user: ALICE })), 'ok');
        assert.equal(await outcome(t, msg({ user: BOB })), 'ok');
        assert.equal(await outcome(t, msg({ user: 'mallory@x.test' })), 'EAUTH');
        // the callback comes first, as in nodemailer: a refresh token it was not asked about is unused
        assert.equal(await outcome(t, msg({ user: ALICE, refreshToken: RT_BOGUS })), 'ok');
        // a bogus access token is refused by the server, then renewed through the callback
        assert.equal(await outcome(t, msg({ user: BOB, accessToken: AT_BOGUS })), 'ok');
        assert.deepEqual(p.smtp.messages.map((m) => m.user), [ALICE, BOB, ALICE, BOB]);
        assert.equal(p.oauth.tokenRequests.length, 0);
        assert.ok(asked.includes('mallory@x.test'));
      } finally {
        t.close();
        await p.close();
      }
    });
  }
});

// ---------------------------------------------------------------- point 2: redirects

/** An http(s) server on 127.0.0.1 that records every request (method, url, headers, body). */
async function recorder(handler, { tls = false } = {}) {
  const requests = [];
  const onRequest = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = { method: req.method, url: req.url, headers: { ...req.headers }, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(rec);
      handler(req, res, rec);
    });
  };
  const server = tls ? https.createServer({ key: CERTS.serverKey, cert: CERTS.serverCert }, onRequest) : http.createServer(onRequest);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    requests,
    port,
    url: `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const SECRETS = [CS, RT_A, 'api-key-SENTINEL'];

function assertNoSecret(requests, label) {
  for (const r of requests) {
    const seen = JSON.stringify(r);
    for (const s of SECRETS) {
      assert.ok(!seen.includes(s) && !seen.includes(encodeURIComponent(s)), `${label}: ${s} reached the redirect target: ${seen}`);
    }
  }
}

const tokenReply = (res, token) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ access_token: token, expires_in: 3600, token_type: 'Bearer' }));
};

describe('token requests and redirects', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    test(`${status} to another origin is not followed: the second server receives nothing`, async () => {
      const smtp = await startSmtpServer({ xoauth2: true, validTokens: new Set(['ya29.from-target']) });
      const target = await recorder((req, res) => tokenReply(res, 'ya29.from-target'));
      const origin = await recorder((req, res) => res.writeHead(status, { location: `${target.url}/token` }).end());
      try {
        const t = createTransport({
          host: 'localhost',
          port: smtp.port,
          tls: { ca: CERTS.ca },
          auth: { type: 'OAuth2', user: ALICE, clientId: CID, clientSecret: CS, refreshToken: RT_A, accessUrl: `${origin.url}/token`, customHeaders: { 'X-Api-Key': 'api-key-SENTINEL' } },
        });
        await assert.rejects(t.sendMail(msg()), (err) => {
          assert.equal(err.code, 'EAUTH');
          assert.match(err.message, /redirect/i);
          for (const s of SECRETS) assert.ok(!err.message.includes(s));
          return true;
        });
        assert.equal(origin.requests.length, 1);
        assert.equal(origin.requests[0].method, 'POST');
        assertNoSecret(target.requests, String(status));
        assert.equal(target.requests.length, 0);
        assert.equal(smtp.messages.length, 0);
      } finally {
        await smtp.close();
        await target.close();
        await origin.close();
      }
    });

    test(`${status} within the same origin is followed (${status >= 307 ? 'POST with its body' : 'as a bodyless GET'})`, async () => {
      const smtp = await startSmtpServer({ xoauth2: true, validTokens: new Set(['ya29.same-origin']) });
      const srv = await recorder((req, res) =>
        req.url === '/token' ? res.writeHead(status, { location: '/moved/token' }).end() : tokenReply(res, 'ya29.same-origin')
      );
      try {
        const t = createTransport({
          host: 'localhost',
          port: smtp.port,
          tls: { ca: CERTS.ca },
          auth: { type: 'OAuth2', user: ALICE, clientId: CID, clientSecret: CS, refreshToken: RT_A, accessUrl: `${srv.url}/token` },
        });
        await t.sendMail(msg());
        assert.equal(smtp.messages.length, 1);
        assert.deepEqual(srv.requests.map((r) => [r.method, r.url]), [
          ['POST', '/token'],
          [status >= 307 ? 'POST' : 'GET', '/moved/token'],
        ]);
        assert.equal(srv.requests[1].body, status >= 307 ? srv.requests[0].body : '');
      } finally {
        await smtp.close();
        await srv.close();
      }
    });
  }

  test('https token endpoint redirecting to http (307) is not followed', async () => {
    const smtp = await startSmtpServer({ xoauth2: true, validTokens: new Set(['ya29.plain']) });
    const target = await recorder((req, res) => tokenReply(res, 'ya29.plain'));
    const origin = await recorder((req, res) => res.writeHead(307, { location: `http://localhost:${target.port}/token` }).end(), { tls: true });
    try {
      const t = createTransport({
        host: 'localhost',
        port: smtp.port,
        tls: { ca: CERTS.ca },
        auth: { type: 'OAuth2', user: ALICE, clientId: CID, clientSecret: CS, refreshToken: RT_A, accessUrl: `${origin.url}/token`, tls: { ca: CERTS.ca } },
      });
      await assert.rejects(t.sendMail(msg()), (err) => err.code === 'EAUTH' && /redirect/i.test(err.message));
      assert.equal(origin.requests.length, 1, 'the https endpoint was reached');
      assertNoSecret(target.requests, 'https->http');
      assert.equal(target.requests.length, 0);
    } finally {
      await smtp.close();
      await target.close();
      await origin.close();
    }
  });
});
