// Hostile input and security properties (issue 7): CR/LF/NUL injection into every string that
// reaches the wire, SMTP smuggling through the body, STARTTLS stripping and response injection,
// certificate verification by default, and secrets kept out of logs, errors and info.
// Assertions are on the bytes a scripted server received. Every server listens on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import util from 'node:util';
import { createTransport } from '../index.mjs';
import { startRawServer } from './helpers/raw.mjs';
import { startSmtpServer, CERTS } from './helpers/smtp.mjs';
import { startMockOAuth, startJwtBearerEndpoint } from './helpers/oauth.mjs';
import { within } from './helpers/wait.mjs';

/** Waits until the server has ended every session opened since it had `before` of them. */
const sessionsEnded = (srv, before) =>
  within(Promise.all(srv.sessions.slice(before).map((s) => s.finished)), { what: 'the server to end the sessions of the send' });
// Every injection attempt at once: CRLF, bare LF, bare CR, NUL, a dot line and SMTP commands.
const INJ = 'v\r\nX-Injected: crlf\nX-Injected: lf\rX-Injected: cr\0X-Injected: nul\r\n.\r\nRSET\r\nMAIL FROM:<evil@example.com>';

/**
 * A well-behaved server that records, per session, the command lines (outside DATA) and each
 * DATA payload exactly as received (up to and including the first CRLF.CRLF).
 */
async function recordingServer({ ehlo = ['250-localhost', '250-PIPELINING', '250-8BITMIME', '250 DSN'] } = {}) {
  const sessions = [];
  const srv = await startRawServer(async (c) => {
    const s = { commands: [], data: [] };
    sessions.push(s);
    await c.write('220 localhost ESMTP\r\n');
    for (;;) {
      const line = await c.readLine();
      if (line === null) return;
      s.commands.push(line);
      if (/^(EHLO|LHLO) /i.test(line)) await c.write(ehlo.join('\r\n') + '\r\n');
      else if (/^HELO /i.test(line)) await c.write('250 localhost\r\n');
      else if (/^DATA$/i.test(line)) {
        await c.write('354 go\r\n');
        const data = await c.readUntil('\r\n.\r\n');
        if (data === null) return;
        s.data.push(data);
        await c.write('250 2.0.0 queued\r\n');
      } else if (/^QUIT$/i.test(line)) {
        await c.write('221 bye\r\n');
        return c.end();
      } else if (/^(MAIL FROM|RCPT TO|RSET|NOOP)/i.test(line)) await c.write('250 OK\r\n');
      else await c.write('502 5.5.2 unknown command\r\n');
    }
  });
  return Object.assign(srv, { log: sessions });
}

const COMMAND = /^(EHLO|HELO|MAIL FROM:<[^<>\s]*>( [A-Z0-9]+=[!-~]*)*|RCPT TO:<[^<>\s]*>( [A-Z0-9]+=[!-~]*)*|DATA|QUIT|RSET)( |$)/;

/** Header field names at column 0 of a message's top header section. */
function topFields(data) {
  const text = data.toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return head
    .split('\r\n')
    .filter((l) => !/^[ \t]/.test(l))
    .map((l) => l.slice(0, l.indexOf(':')));
}

function assertCleanWire(s, { recipients, what }) {
  for (const line of s.commands) assert.match(line, COMMAND, `${what}: unexpected command line ${JSON.stringify(line)}`);
  assert.equal(s.commands.filter((l) => /^MAIL FROM/.test(l)).length, 1, `${what}: one MAIL FROM`);
  assert.equal(s.commands.filter((l) => /^RCPT TO/.test(l)).length, recipients, `${what}: RCPT TO count`);
  // (addresses found inside hostile address text are real recipients, as in nodemailer's
  // addressparser; they arrive in their own clean RCPT TO, counted in info.envelope)
  assert.ok(!s.commands.includes('RSET'), `${what}: injected command ${s.commands.join(' | ')}`);
  assert.ok(!s.commands.some((l) => l.includes('\0')), `${what}: NUL in a command ${JSON.stringify(s.commands)}`);
  assert.equal(s.data.length, 1, `${what}: one message`);
  const data = s.data[0];
  const text = data.toString('latin1');
  // the only CRLF.CRLF is the terminator, and the body has no bare CR or LF
  assert.equal(text.indexOf('\r\n.\r\n'), text.length - 5, `${what}: message end inside the message`);
  assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), `${what}: bare CR or LF on the wire`);
  assert.ok(!/^(X-Injected|RSET|MAIL FROM)/im.test(text), `${what}: injected line:\n${text}`);
  assert.ok(!text.includes('\0'), `${what}: NUL on the wire`);
  return topFields(data);
}

describe('CR/LF/NUL in user strings never make a new header or command', () => {
  test('headers, custom keys, addresses and names, filenames, list entries, reply-to', async () => {
    const srv = await recordingServer();
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port });
      const info = await t.sendMail({
        from: { name: 'From' + INJ, address: 'from@example.com' },
        to: [{ name: 'To' + INJ, address: 'to@example.com' }, 'Other' + INJ + ' <other@example.com>'],
        cc: 'cc@example.com' + INJ,
        replyTo: 'reply@example.com' + INJ,
        inReplyTo: '<id@example.com>' + INJ,
        references: ['<r@example.com>' + INJ],
        subject: 'Subject' + INJ,
        messageId: '<mid@example.com>' + INJ,
        headers: { 'X-Custom': 'custom' + INJ, ['X-Key\r\nX-Injected: key']: 'k', 'X-List': ['a' + INJ, 'b' + INJ] },
        list: { help: 'help@example.com' + INJ, unsubscribe: ['https://example.com/u' + INJ, 'u@example.com' + INJ] },
        text: 'body',
        attachments: [{ filename: 'file' + INJ + '.txt', content: 'attached', contentType: 'text/plain' + INJ }],
      });
      assert.ok(info.response.startsWith('250'));
      const s = srv.log[0];
      assert.equal(s.commands.filter((l) => /^EHLO/.test(l)).length, 1);
      const fields = assertCleanWire(s, { recipients: info.envelope.to.length, what: 'message' });
      const dupes = fields.filter((f, i) => fields.indexOf(f) !== i);
      assert.deepEqual(dupes.filter((f) => f !== 'X-List' && f !== 'List-Unsubscribe'), [], `repeated fields ${fields}`);
      assert.equal(fields.filter((f) => f === 'List-Unsubscribe').length, 2, 'one per list entry');
      for (const f of fields) assert.match(f, /^[!-9;-~]+$/, `field name ${JSON.stringify(f)}`);
      for (const a of [info.envelope.from, ...info.envelope.to]) assert.ok(!/[\r\n\0<>\s]/.test(a), `envelope ${JSON.stringify(a)}`);
    } finally {
      await srv.close();
    }
  });

  // found by this test (NUL reached the wire), fixed in eaf62fd
  test('EHLO name: one clean EHLO line, no NUL', async () => {
    const srv = await recordingServer();
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port, name: 'client' + INJ });
      const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
      const s = srv.log[0];
      assert.equal(s.commands.filter((l) => /^EHLO/.test(l)).length, 1);
      assertCleanWire(s, { recipients: info.envelope.to.length, what: 'EHLO name' });
    } finally {
      await srv.close();
    }
  });

  test('explicit envelope from/to and DSN envid: refused (EENVELOPE) or sent without injection', async () => {
    const srv = await recordingServer();
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port });
      const attempts = [
        { envelope: { from: 'a@example.com' + INJ, to: 'b@example.com' } },
        { envelope: { from: 'a@example.com', to: ['b@example.com' + INJ] } },
        { envelope: { from: 'a@example.com\r\nRSET', to: 'b@example.com\r\nRSET' } },
        { dsn: { id: 'envid' + INJ, return: 'headers', notify: 'success', recipient: 'a@example.com' + INJ } },
      ];
      for (const [i, extra] of attempts.entries()) {
        const before = srv.log.length;
        const r = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', ...extra }).then(
          (info) => ({ info }),
          (err) => ({ err })
        );
        await sessionsEnded(srv, before);
        if (r.err) {
          assert.equal(r.err.code, 'EENVELOPE', `attempt ${i}: ${r.err.message}`);
          // nothing at all reached the server, or only a clean prefix of a session
          for (const s of srv.log.slice(before)) for (const l of s.commands) assert.match(l, COMMAND, `attempt ${i}: ${l}`);
        } else {
          const s = srv.log.at(-1);
          assertCleanWire(s, { recipients: r.info.envelope.to.length, what: `attempt ${i}` });
          if (extra.dsn) {
            const mail = s.commands.find((l) => /^MAIL FROM/.test(l));
            assert.match(mail, / ENVID=[!-~]+/, mail);
            assert.ok(!/[\r\n\0]/.test(mail));
          }
        }
      }
    } finally {
      await srv.close();
    }
  });
});

describe('SMTP smuggling through the body', () => {
  const bodies = {
    'bare LF': 'a\nb\n',
    'bare CR': 'a\rb\r',
    'LF.LF': 'a\n.\nMAIL FROM:<evil@example.com>\n',
    'CRLF.CR': 'a\r\n.\rMAIL FROM:<evil@example.com>\r\n',
    'CR.CRLF': 'a\r.\r\nMAIL FROM:<evil@example.com>\r\n',
    'LF.CRLF': 'a\n.\r\nMAIL FROM:<evil@example.com>\r\n',
    'CRLF.CRLF': 'a\r\n.\r\nMAIL FROM:<evil@example.com>\r\n',
  };

  async function sendAll(make) {
    const srv = await recordingServer();
    try {
      const t = createTransport({ host: '127.0.0.1', port: srv.port });
      for (const [name, body] of Object.entries(bodies)) {
        const before = srv.log.length;
        await t.sendMail(make(body));
        await sessionsEnded(srv, before);
        const sessions = srv.log.slice(before);
        assert.equal(sessions.length, 1, name);
        const s = sessions[0];
        assert.equal(s.data.length, 1, `${name}: exactly one message end`);
        const text = s.data[0].toString('latin1');
        assert.equal(text.indexOf('\r\n.\r\n'), text.length - 5, `${name}: end of data only at the real end`);
        // after the end of data only the client's own commands (QUIT or nothing)
        const after = s.commands.slice(s.commands.indexOf('DATA') + 1);
        assert.ok(after.every((l) => l === 'QUIT'), `${name}: after DATA ${JSON.stringify(after)}`);
        // what lenient receivers (bare LF/CR as line ends) would read as an end of data
        // (text minus the final ".\r\n": any remaining dot line, whatever line ending a lenient
        // receiver accepts, would be an early end of data there)
        assert.ok(!/(^|\r\n|\n|\r)\.(\r\n|\n|\r)/.test(text.slice(0, -3)), `${name}: a dot line a lenient server would end on: ${JSON.stringify(text)}`);
      }
    } finally {
      await srv.close();
    }
  }

  test('text bodies: bare LF, bare CR and dot lines cannot end the message early', () =>
    sendAll((body) => ({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: body })));

  test('raw messages: the same bodies sent byte for byte', () =>
    sendAll((body) => ({ envelope: { from: 'a@example.com', to: 'b@example.com' }, raw: 'Subject: s\r\n\r\n' + body })));
});

describe('STARTTLS stripping and response injection', () => {
  async function noTlsServer(answer) {
    return startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^EHLO/.test(line)) await c.write(answer === 'omit' ? '250-x\r\n250 AUTH PLAIN\r\n' : '250-x\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n');
        else if (/^STARTTLS/.test(line)) await c.write(answer === 'omit' ? '502 5.5.1 no\r\n' : '454 4.7.0 TLS not available\r\n');
        else await c.write('250 OK\r\n');
      }
    });
  }

  for (const answer of ['omit', '454']) {
    test(`requireTLS: a server that ${answer === 'omit' ? 'omits STARTTLS' : 'answers STARTTLS with 454'} gets no AUTH and no MAIL`, async () => {
      const srv = await noTlsServer(answer);
      try {
        const t = createTransport({ host: '127.0.0.1', port: srv.port, requireTLS: true, auth: { user: 'u', pass: 'strip-secret' } });
        await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }), (err) => {
          assert.equal(err.code, 'ETLS');
          assert.ok(!err.message.includes('strip-secret'));
          return true;
        });
        assert.ok(!srv.received.some((l) => /^(AUTH|MAIL|RCPT|DATA)/.test(l)), srv.received.join(' | '));
      } finally {
        await srv.close();
      }
    });
  }

  test('bytes injected after "220 ready" before the handshake are discarded', async () => {
    const srv = await startRawServer(async (c) => {
      await c.write('220 x ESMTP\r\n');
      let tls = false;
      for (;;) {
        const line = await c.readLine();
        if (line === null) return;
        if (/^EHLO/.test(line)) await c.write(tls ? '250-x\r\n250 AUTH PLAIN\r\n' : '250-x\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/.test(line)) {
          // one packet: the 220 and an injected reply a MITM slipped in before TLS
          await c.write('220 ready\r\n250-injected\r\n250 AUTH LOGIN\r\n535 5.7.8 injected\r\n');
          await c.startTls();
          tls = true;
        } else if (/^AUTH PLAIN/.test(line)) await c.write('235 2.7.0 ok\r\n');
        else if (/^DATA/.test(line)) {
          await c.write('354 go\r\n');
          await c.readUntil('\r\n.\r\n');
          await c.write('250 2.0.0 real\r\n');
        } else await c.write('250 OK\r\n');
      }
    });
    try {
      const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, auth: { user: 'u', pass: 'p' } });
      const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
      assert.equal(info.response, '250 2.0.0 real');
      assert.deepEqual(info.ehlo, ['AUTH PLAIN']);
      assert.ok(srv.received.some((l) => /^AUTH PLAIN/.test(l)), 'AUTH PLAIN chosen from the real EHLO');
    } finally {
      await srv.close();
    }
  });
});

describe('certificates are verified by default', () => {
  test('SMTP: implicit TLS and STARTTLS without tls.ca fail with ESOCKET (the TLS socket error, as nodemailer), nothing delivered', async () => {
    for (const secure of [true, false]) {
      const srv = await startSmtpServer({ secure, authOptional: true });
      try {
        const t = createTransport({ host: 'localhost', port: srv.port, secure });
        await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }), (err) => {
          assert.equal(err.code, 'ESOCKET', `secure=${secure}: ${err.message}`);
          assert.match(err.message, /UnknownIssuer|certificate/i);
          return true;
        });
        assert.equal(srv.messages.length, 0);
      } finally {
        await srv.close();
      }
    }
  });

  test('token endpoint over HTTPS without the CA fails (EAUTH), no AUTH attempted', async () => {
    const oauth = await startMockOAuth({ https: true });
    const srv = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
    try {
      const t = createTransport({
        host: 'localhost',
        port: srv.port,
        tls: { ca: CERTS.ca },
        auth: { type: 'OAuth2', user: 'u@example.com', clientId: 'cid', clientSecret: 'csecret', refreshToken: 'rtoken', accessUrl: oauth.tokenUrl },
      });
      await assert.rejects(t.sendMail({ from: 'u@example.com', to: 'b@example.com', text: 'x' }), (err) => {
        assert.equal(err.code, 'EAUTH');
        return true;
      });
      assert.equal(oauth.tokenRequestCount, 0, 'no token request completed over an unverified channel');
      assert.equal(srv.authAttempts.length, 0);
    } finally {
      await srv.close();
      await oauth.close();
    }
  });
});

describe('secrets never in logs, errors or info', () => {
  function recorder() {
    const lines = [];
    const logger = {};
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
      logger[level] = (entry, format, ...args) => lines.push(JSON.stringify(entry) + ' ' + util.format(format, ...args));
    }
    return { logger, lines };
  }

  /** Everything observable about a result: error fields and stack, or the whole info. */
  function observable(r) {
    if (r.err) {
      const e = r.err;
      return [e.message, e.stack, e.response, JSON.stringify(e), util.inspect(e, { depth: 5 })].join('\n');
    }
    return JSON.stringify(r.info);
  }

  function assertNoSecret(texts, secrets, what) {
    const all = texts.join('\n');
    for (const s of secrets) {
      if (!s || s.length < 6) continue;
      assert.ok(!all.includes(s), `${what}: secret leaked: ${s.slice(0, 12)}...`);
    }
  }

  const b64 = (s) => Buffer.from(s).toString('base64');
  const msg = { from: 'alice@example.com', to: 'b@example.com', subject: 's', text: 'x' };

  test('PLAIN, LOGIN, CRAM-MD5: success and wrong password', async () => {
    const pass = 'Pa55-w0rd-s3cret';
    const srv = await startSmtpServer({ users: { alice: pass } });
    try {
      for (const method of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
        for (const p of [pass, 'Wr0ng-pa55-s3cret']) {
          const { logger, lines } = recorder();
          const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, logger, debug: true, auth: { user: 'alice', pass: p, method } });
          const r = await t.sendMail(msg).then((info) => ({ info }), (err) => ({ err }));
          assert.equal(!r.err, p === pass, `${method}: ${r.err && r.err.message}`);
          assert.ok(lines.length > 5, 'something was logged');
          const secrets = [p, b64(p), b64(`\0alice\0${p}`), b64(`alice\0alice\0${p}`)];
          assertNoSecret([...lines, observable(r)], secrets, `${method} ${p === pass ? 'ok' : 'wrong'}`);
        }
      }
    } finally {
      await srv.close();
    }
  });

  test('XOAUTH2: static token (accepted and rejected), 3LO refresh, revoked refresh token, endpoint 500', async () => {
    const oauth = await startMockOAuth();
    const srv = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
    const clientSecret = 'client-s3cret-value';
    const refreshToken = 'refresh-t0ken-value';
    try {
      const run = async (auth, setup) => {
        const { logger, lines } = recorder();
        const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, logger, debug: true, auth: { type: 'OAuth2', user: 'alice@example.com', ...auth } });
        const tokens = [];
        t.on('token', (tok) => tokens.push(tok.accessToken));
        if (setup) setup();
        const r = await t.sendMail(msg).then((info) => ({ info }), (err) => ({ err }));
        return { r, texts: [...lines, observable(r)], tokens };
      };
      const staticToken = 'ya29.static-access-t0ken';
      oauth.issuedTokens.add(staticToken);
      let out = await run({ accessToken: staticToken });
      assert.ok(!out.r.err, out.r.err && out.r.err.message);
      assertNoSecret(out.texts, [staticToken, b64(`user=alice@example.com\x01auth=Bearer ${staticToken}\x01\x01`)], 'static ok');

      out = await run({ accessToken: 'ya29.rejected-static-t0ken' });
      assert.equal(out.r.err.code, 'EAUTH');
      assertNoSecret(out.texts, ['ya29.rejected-static-t0ken'], 'static rejected');

      const three = { clientId: 'cid', clientSecret, refreshToken, accessUrl: oauth.tokenUrl };
      out = await run(three);
      assert.ok(!out.r.err, out.r.err && out.r.err.message);
      assert.equal(out.tokens.length, 1);
      assertNoSecret(out.texts, [clientSecret, refreshToken, out.tokens[0], b64(`user=alice@example.com\x01auth=Bearer ${out.tokens[0]}\x01\x01`)], '3LO ok');

      for (const fault of ['invalid_grant', 'http500']) {
        out = await run(three, () => oauth.failNext(fault));
        assert.equal(out.r.err.code, 'EAUTH', fault);
        assertNoSecret(out.texts, [clientSecret, refreshToken], `3LO ${fault}`);
      }
      // what the endpoint received is the only place the secrets may appear
      assert.ok(oauth.tokenRequests.every((q) => q.body.refresh_token === refreshToken));
    } finally {
      await srv.close();
      await oauth.close();
    }
  });

  test('2LO service account (key with passphrase) and provisioning callback', async () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const plainPem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    const passphrase = 'key-passphrase-s3cret';
    const encryptedPem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
    const pemLines = (pem) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const serviceClient = '113600000000000000001';
    const jwt = await startJwtBearerEndpoint({ publicKey, serviceClient, user: 'alice@example.com' });
    const srv = await startSmtpServer({ xoauth2: true, validTokens: jwt.issuedTokens });
    try {
      const cases = [
        ['2LO plain key', { serviceClient, privateKey: plainPem, accessUrl: jwt.tokenUrl }, true],
        ['2LO encrypted key', { serviceClient, privateKey: { key: encryptedPem, passphrase }, accessUrl: jwt.tokenUrl }, true],
        ['2LO wrong passphrase', { serviceClient, privateKey: { key: encryptedPem, passphrase: passphrase + 'x' }, accessUrl: jwt.tokenUrl }, false],
      ];
      for (const [what, auth, ok] of cases) {
        const { logger, lines } = recorder();
        const t = createTransport({ host: 'localhost', port: srv.port, tls: { ca: CERTS.ca }, logger, debug: true, auth: { type: 'OAuth2', user: 'alice@example.com', ...auth } });
        const tokens = [];
        t.on('token', (tok) => tokens.push(tok.accessToken));
        const r = await t.sendMail(msg).then((info) => ({ info }), (err) => ({ err }));
        if (ok !== null) assert.equal(!r.err, ok, `${what}: ${r.err && r.err.message}`);
        const secrets = [...pemLines(plainPem), ...pemLines(encryptedPem), passphrase, ...tokens, ...jwt.tokenRequests.map((q) => q.body.assertion)];
        assertNoSecret([...lines, observable(r)], secrets, what);
      }

      const provided = 'ya29.provisioned-t0ken';
      jwt.issuedTokens.add(provided);
      for (const answer of ['token', 'error']) {
        const { logger, lines } = recorder();
        const t = createTransport({
          host: 'localhost',
          port: srv.port,
          tls: { ca: CERTS.ca },
          logger,
          debug: true,
          auth: {
            type: 'OAuth2',
            user: 'alice@example.com',
            provisionCallback: (user, renew, cb) => (answer === 'token' ? cb(null, provided, Date.now() + 3600e3) : cb(new Error('provisioning failed'))),
          },
        });
        const r = await t.sendMail(msg).then((info) => ({ info }), (err) => ({ err }));
        assert.equal(!r.err, answer === 'token', r.err && r.err.message);
        assertNoSecret([...lines, observable(r)], [provided, b64(`user=alice@example.com\x01auth=Bearer ${provided}\x01\x01`)], `provision ${answer}`);
      }
    } finally {
      await srv.close();
      await jwt.close();
    }
  });
});

describe('hostile addresses', () => {
  // found by fuzzing (Rust panic in loose_address), fixed in eaf62fd; fuzz/artifacts-fixed/address_parser
  test('a multi-byte whitespace before the @ (U+0085) is parsed, not a Rust panic', async () => {
    const t = createTransport({ streamTransport: true });
    for (const to of ['\u0085b@example.com', 'a\u0085b@example.com', 'x\u2028y@example.com']) {
      const r = await t.sendMail({ from: 'a@example.com', to, text: 'x' }).then((info) => ({ info }), (err) => ({ err }));
      if (r.err) assert.match(r.err.code, /^E[A-Z]+$/, `${JSON.stringify(to)}: ${r.err.code} ${r.err.message}`);
    }
  });
});
