// Tests of the test fixtures themselves, with nodemailer 10.6.1 as the client: they show the
// fixtures behave like the real peers before the addon is tested against them.
// Run: node --test __test__/helpers.test.mjs

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import { after, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { CERTS, startSmtpServer } from './helpers/smtp.mjs';
import { startRawServer } from './helpers/raw.mjs';
import { checkAssertion, startJwtBearerEndpoint, startMockOAuth } from './helpers/oauth.mjs';
import { waitFor, within } from './helpers/wait.mjs';

const MAIL = { from: 'sender@example.com', to: 'rcpt@example.com', subject: 'Fixture check', text: 'Hello\r\n.dot line\r\n' };

function transport(port, extra = {}) {
    return nodemailer.createTransport({ host: '127.0.0.1', port, name: 'client.test', tls: { ca: CERTS.ca }, ...extra });
}

describe('startSmtpServer', () => {
    it('accepts mail over STARTTLS with PLAIN, LOGIN and CRAM-MD5', async () => {
        const srv = await startSmtpServer({ users: { alice: 'secret' } });
        after(() => srv.close());
        for (const method of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
            const t = transport(srv.port, { auth: { user: 'alice', pass: 'secret' }, authMethod: method, requireTLS: true });
            const info = await t.sendMail(MAIL);
            assert.deepEqual(info.accepted, ['rcpt@example.com']);
            t.close();
        }
        assert.deepEqual(
            srv.authAttempts.map(a => [a.method, a.username, a.ok]),
            [
                ['PLAIN', 'alice', true],
                ['LOGIN', 'alice', true],
                ['CRAM-MD5', 'alice', true]
            ]
        );
        assert.equal(srv.messages.length, 3);
        const m = srv.messages[0];
        assert.equal(m.envelope.mailFrom.address, 'sender@example.com');
        assert.deepEqual(
            m.envelope.rcptTo.map(r => r.address),
            ['rcpt@example.com']
        );
        assert.equal(m.user, 'alice');
        assert.equal(m.secure, true, 'upgraded with STARTTLS');
        const raw = m.raw.toString();
        assert.match(raw, /^Subject: Fixture check\r\n/m);
        // dot-unstuffed body, exactly as the client meant it
        assert.match(raw, /\r\n\r\nHello\r\n\.dot line\r\n$/);
        // one message per connection (no pool)
        assert.deepEqual([...srv.connections.values()], [1, 1, 1]);
        assert.equal(new Set(srv.messages.map(x => x.connectionId)).size, 3);
    });

    it('rejects a wrong password with 535', async () => {
        const srv = await startSmtpServer({ users: { alice: 'secret' } });
        after(() => srv.close());
        const t = transport(srv.port, { auth: { user: 'alice', pass: 'wrong' } });
        await assert.rejects(t.sendMail(MAIL), err => err.code === 'EAUTH' && err.responseCode === 535);
        assert.equal(srv.messages.length, 0);
        assert.deepEqual(srv.authAttempts.map(a => a.ok), [false]);
    });

    it('serves implicit TLS with secure: true', async () => {
        const srv = await startSmtpServer({ secure: true });
        after(() => srv.close());
        const t = transport(srv.port, { secure: true });
        const info = await t.sendMail(MAIL);
        assert.match(info.response, /^250 /);
        assert.equal(srv.messages.length, 1);
    });

    it('a pool sends several messages on one connection; onMessage can reject', async () => {
        const srv = await startSmtpServer({
            onMessage: m => (m.raw.includes('reject me') ? Object.assign(new Error('Rejected by fixture'), { responseCode: 554 }) : undefined)
        });
        after(() => srv.close());
        const t = transport(srv.port, { pool: true, maxConnections: 1 });
        await t.sendMail(MAIL);
        await t.sendMail(MAIL);
        await assert.rejects(t.sendMail({ ...MAIL, text: 'reject me' }), err => err.responseCode === 554 && err.code === 'EMESSAGE');
        t.close();
        assert.deepEqual([...srv.connections.values()], [2]);
    });

    it('rejectRcpt, LMTP rejectData and pass-through server options', async () => {
        const srv = await startSmtpServer({ rejectRcpt: a => a.startsWith('bad'), size: 1024 });
        const lmtp = await startSmtpServer({ lmtp: true, rejectData: a => a.startsWith('no') });
        after(() => Promise.all([srv.close(), lmtp.close()]));
        assert.equal(srv.server.options.size, 1024);

        const info = await transport(srv.port).sendMail({ ...MAIL, to: ['good@example.com', 'bad@example.com'] });
        assert.deepEqual(info.accepted, ['good@example.com']);
        assert.deepEqual(info.rejected, ['bad@example.com']);
        assert.equal(info.rejectedErrors[0].responseCode, 550);
        await assert.rejects(transport(srv.port).sendMail({ ...MAIL, text: 'x'.repeat(2000) }), err => err.responseCode === 552);

        const lInfo = await transport(lmtp.port, { lmtp: true }).sendMail({ ...MAIL, to: ['yes@example.com', 'no@example.com'] });
        assert.deepEqual(lInfo.accepted, ['yes@example.com']);
        assert.deepEqual(lInfo.rejected, ['no@example.com']);
        assert.deepEqual(lmtp.messages[0].rejectedRecipients, ['no@example.com']);
        assert.equal(lmtp.messages[0].secure, true);
    });

    it('XOAUTH2: rejects unknown tokens like Gmail, accepts listed ones', async () => {
        const srv = await startSmtpServer({ xoauth2: true, validTokens: new Set(['good']) });
        after(() => srv.close());
        const bad = transport(srv.port, { auth: { type: 'OAuth2', user: 'me@example.com', accessToken: 'stale' } });
        await assert.rejects(bad.sendMail(MAIL), err => err.code === 'EAUTH' && err.response === '535 Error: Username and Password not accepted');
        // no refresh mechanism: nodemailer retries once with the same token (lib/smtp-connection's XOAUTH2 renew flow)
        assert.deepEqual(
            srv.authAttempts.map(a => a.accessToken),
            ['stale', 'stale']
        );
        const good = transport(srv.port, { auth: { type: 'OAuth2', user: 'me@example.com', accessToken: 'good' } });
        await good.sendMail(MAIL);
        assert.equal(srv.messages.at(-1).user, 'me@example.com');
    });
});

describe('startMockOAuth', () => {
    it('3LO: nodemailer renews a rejected token through the mock and retries', async () => {
        const oauth = await startMockOAuth();
        const srv = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
        after(() => Promise.all([srv.close(), oauth.close()]));
        const t = transport(srv.port, {
            auth: { type: 'OAuth2', user: 'me@example.com', clientId: 'cid', clientSecret: 'csec', refreshToken: 'rtok', accessToken: 'stale', accessUrl: oauth.tokenUrl }
        });
        const tokens = [];
        t.on('token', tok => tokens.push(tok));
        await t.sendMail(MAIL);
        assert.equal(oauth.tokenRequestCount, 1);
        assert.deepEqual(oauth.tokenRequests[0].body, { client_id: 'cid', client_secret: 'csec', refresh_token: 'rtok', grant_type: 'refresh_token' });
        assert.equal(oauth.tokenRequests[0].headers['content-type'], 'application/x-www-form-urlencoded');
        assert.equal(tokens.length, 1);
        assert.ok(oauth.issuedTokens.has(tokens[0].accessToken));
        assert.deepEqual(
            srv.authAttempts.map(a => a.ok),
            [false, true]
        );
    });

    it('fault injection: invalid_grant, HTTP 500 HTML, invalid JSON', async () => {
        const oauth = await startMockOAuth();
        const srv = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
        after(() => Promise.all([srv.close(), oauth.close()]));
        const auth = { type: 'OAuth2', user: 'me@example.com', clientId: 'cid', clientSecret: 'csec', refreshToken: 'rtok', accessUrl: oauth.tokenUrl };

        oauth.failNext('invalid_grant');
        await assert.rejects(transport(srv.port, { auth }).sendMail(MAIL), err => err.code === 'EAUTH' && err.message === 'invalid_grant: Bad Request');

        oauth.failNext({ status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } });
        await assert.rejects(transport(srv.port, { auth }).sendMail(MAIL), err => err.message === 'invalid_grant: Token has been expired or revoked.');

        oauth.failNext('http500');
        await assert.rejects(transport(srv.port, { auth }).sendMail(MAIL), err => err.code === 'EAUTH' && err instanceof SyntaxError);

        oauth.failNext('invalid_json');
        await assert.rejects(transport(srv.port, { auth }).sendMail(MAIL), err => err.code === 'EAUTH' && err instanceof SyntaxError);

        // the queue is empty again: a normal answer with the configured expiry
        oauth.expiresIn = 5;
        const t = transport(srv.port, { auth });
        const tokens = [];
        t.on('token', tok => tokens.push(tok));
        await t.sendMail(MAIL);
        assert.equal(oauth.tokenRequestCount, 5);
        assert.ok(Math.abs(tokens[0].expires - (Date.now() + 5000)) < 2000);
    });

    it('hang never answers, and close() still ends the server', async () => {
        const oauth = await startMockOAuth();
        oauth.failNext('hang');
        const res = fetch(oauth.tokenUrl, { method: 'POST', body: 'grant_type=refresh_token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(300) });
        await assert.rejects(res, err => err.name === 'TimeoutError');
        assert.equal(oauth.tokenRequestCount, 1);
        await oauth.close();
    });

    it('other endpoints still come from the mock (JWKS has the RS256 key)', async () => {
        const oauth = await startMockOAuth();
        after(() => oauth.close());
        const jwks = await (await fetch(`${oauth.origin}/jwks`)).json();
        assert.deepEqual(
            jwks.keys.map(k => k.alg),
            ['RS256']
        );
    });
});

describe('startJwtBearerEndpoint', () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    const serviceClient = 'svc@project.iam.gserviceaccount.com';
    const user = 'me@example.com';

    it('2LO: nodemailer gets a token with a service account JWT and logs in', async () => {
        const jwt = await startJwtBearerEndpoint({ publicKey, serviceClient, user });
        const srv = await startSmtpServer({ xoauth2: true, validTokens: jwt.issuedTokens });
        after(() => Promise.all([srv.close(), jwt.close()]));
        const t = transport(srv.port, { auth: { type: 'OAuth2', user, serviceClient, privateKey: privatePem, accessUrl: jwt.tokenUrl } });
        await t.sendMail(MAIL);
        assert.deepEqual(jwt.rejections, []);
        assert.equal(jwt.tokenRequests.length, 1);
        assert.equal(jwt.tokenRequests[0].body.grant_type, 'urn:ietf:params:oauth:grant-type:jwt-bearer');
        assert.deepEqual(
            srv.authAttempts.map(a => a.ok),
            [true]
        );
    });

    it('refuses a JWT signed by another key', async () => {
        const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
        const jwt = await startJwtBearerEndpoint({ publicKey, serviceClient, user });
        const srv = await startSmtpServer({ xoauth2: true, validTokens: jwt.issuedTokens });
        after(() => Promise.all([srv.close(), jwt.close()]));
        const t = transport(srv.port, { auth: { type: 'OAuth2', user, serviceClient, privateKey: other, accessUrl: jwt.tokenUrl } });
        await assert.rejects(t.sendMail(MAIL), err => err.code === 'EAUTH' && err.message === 'invalid_grant');
        assert.deepEqual(jwt.rejections, ['bad signature']);
        assert.equal(jwt.issuedTokens.size, 0);
    });

    it('checkAssertion checks iss, sub, aud, scope, iat and exp', () => {
        const now = Date.now();
        const iat = Math.floor(now / 1000);
        const sign = (claims, header = { alg: 'RS256', typ: 'JWT' }) => {
            const b = v => Buffer.from(JSON.stringify(v)).toString('base64url');
            const input = `${b(header)}.${b(claims)}`;
            return `${input}.${crypto.sign('RSA-SHA256', Buffer.from(input), privateKey).toString('base64url')}`;
        };
        const good = { iss: serviceClient, scope: 'https://mail.google.com/', sub: user, aud: 'http://a/token', iat, exp: iat + 300 };
        const ctx = { publicKey, serviceClient, user, audience: 'http://a/token', now };
        assert.equal(checkAssertion(sign(good), ctx), null);
        const cases = [
            [{ iss: 'x' }, 'wrong iss'],
            [{ sub: 'x' }, 'wrong sub'],
            [{ aud: 'http://b/token' }, 'wrong aud'],
            [{ scope: 'x' }, 'wrong scope'],
            [{ iat: iat + 3600 }, 'iat out of range'],
            [{ exp: iat - 1, iat: iat - 100 }, 'exp out of range'],
            [{ exp: iat + 7200 }, 'exp out of range']
        ];
        for (const [change, reason] of cases) {
            assert.equal(checkAssertion(sign({ ...good, ...change }), ctx), reason, JSON.stringify(change));
        }
        assert.equal(checkAssertion(sign(good, { alg: 'HS256' }), ctx), 'alg is not RS256');
        assert.equal(checkAssertion('a.b', ctx), 'not a JWT');
        const [h, p] = sign(good).split('.');
        assert.equal(checkAssertion(`${h}.${p}.AAAA`, ctx), 'bad signature');
    });

    it('HTTPS variant: refused without the test CA, trusted with it (auth.tls)', async () => {
        const jwt = await startJwtBearerEndpoint({ publicKey, serviceClient, user, https: true });
        const srv = await startSmtpServer({ xoauth2: true, validTokens: jwt.issuedTokens });
        after(() => Promise.all([srv.close(), jwt.close()]));
        assert.match(jwt.tokenUrl, /^https:\/\/127\.0\.0\.1:\d+\/token$/);
        const auth = { type: 'OAuth2', user, serviceClient, privateKey: privatePem, accessUrl: jwt.tokenUrl };
        // strict TLS by default: the private CA is unknown
        await assert.rejects(transport(srv.port, { auth }).sendMail(MAIL), err => err.code === 'EAUTH' && /certificate/i.test(err.message));
        // auth.tls is used for the token request: trusting the CA makes it work
        await transport(srv.port, { auth: { ...auth, tls: { ca: CERTS.ca } } }).sendMail(MAIL);
        assert.equal(srv.messages.length, 1);
        // a plain HTTPS client that trusts the CA reaches the endpoint
        const status = await new Promise((resolve, reject) => {
            const req = https.request(jwt.tokenUrl, { method: 'POST', ca: CERTS.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, res => {
                res.resume();
                resolve(res.statusCode);
            });
            req.on('error', reject);
            req.end('grant_type=password');
        });
        assert.equal(status, 400);
        assert.deepEqual(jwt.rejections, ['unsupported grant_type']);
    });
});

describe('startRawServer', () => {
    it('scripts byte-exact replies and records what the client sent', async () => {
        const srv = await startRawServer(async c => {
            await c.write('220 raw.test ESMTP\r\n');
            const ehlo = await c.readLine();
            assert.equal(ehlo, 'EHLO client.test');
            await c.write('250-raw.test\r\n250 8BITMIME\r\n');
            assert.equal(await c.readLine(), 'QUIT');
            await c.write('221 Bye\r\n');
            c.end();
            assert.equal(await c.readLine(), null);
        });
        after(() => srv.close());
        const t = transport(srv.port, { ignoreTLS: true });
        assert.equal(await t.verify(), true);
        await srv.sessions[0].finished;
        assert.equal(srv.sessions[0].error, null);
        assert.equal(srv.sessions[0].received.toString(), 'EHLO client.test\r\nQUIT\r\n');
        assert.deepEqual(srv.received, ['EHLO client.test', 'QUIT']);
    });

    it('upgrades to TLS on STARTTLS and reads DATA with readUntil', async () => {
        const srv = await startRawServer(async c => {
            await c.write('220 raw.test ESMTP\r\n');
            await c.readLine();
            await c.write('250-raw.test\r\n250 STARTTLS\r\n');
            assert.equal(await c.readLine(), 'STARTTLS');
            await c.write('220 Go ahead\r\n');
            await c.startTls();
            await c.readLine(); // EHLO again
            await c.write('250 raw.test\r\n');
            assert.equal(await c.readLine(), 'MAIL FROM:<sender@example.com>');
            await c.write('250 OK\r\n');
            assert.equal(await c.readLine(), 'RCPT TO:<rcpt@example.com>');
            await c.write('250 OK\r\n');
            assert.equal(await c.readLine(), 'DATA');
            await c.write('354 Go\r\n');
            const data = await c.readUntil('\r\n.\r\n');
            assert.match(data.toString(), /\r\n\r\nHello\r\n\.\.dot line\r\n\.\r\n$/);
            await c.write('250 Queued\r\n');
            // nodemailer's single-shot transport closes after the message, without QUIT
            assert.equal(await c.readLine(), null);
        });
        after(() => srv.close());
        const info = await transport(srv.port).sendMail(MAIL);
        assert.equal(info.response, '250 Queued');
        await srv.sessions[0].finished;
        assert.equal(srv.sessions[0].error, null);
        assert.equal(srv.sessions[0].received.toString().split('\r\n')[1], 'STARTTLS');
    });

    it('a script error is kept on the session and the client sees the connection drop', async () => {
        const srv = await startRawServer(async c => {
            await c.write('220 raw.test ESMTP\r\n');
            await c.readLine();
            throw new Error('script failed');
        });
        after(() => srv.close());
        await assert.rejects(transport(srv.port).verify(), err => err.code === 'ECONNECTION');
        await srv.sessions[0].finished;
        assert.equal(srv.sessions[0].error.message, 'script failed');
    });
});

describe('waitFor and within', () => {
    it('return as soon as the event happens, with its value', async () => {
        let n = 0;
        const timer = setInterval(() => n++, 1);
        try {
            assert.equal(await waitFor(() => n >= 3 && 'three ticks', { timeout: 1000 }), 'three ticks');
        } finally {
            clearInterval(timer);
        }
        assert.equal(await within(Promise.resolve(42), { timeout: 1000 }), 42);
        await assert.rejects(within(Promise.reject(new Error('own error')), { timeout: 1000 }), { message: 'own error' });
    });

    it('fail past the deadline naming what they waited for', async () => {
        await assert.rejects(waitFor(() => false, { timeout: 30, what: 'the impossible' }), {
            message: 'timed out after 30 ms waiting for the impossible'
        });
        await assert.rejects(within(new Promise(() => {}), { timeout: 30, what: "an 'idle' event" }), {
            message: "timed out after 30 ms waiting for an 'idle' event"
        });
    });
});
