// TLS fidelity against smtp-server: X.509 v1 server certificates (smtp-server's built-in one,
// and __test__/fixtures/v1.pem), each case run with nodemailer 10.6.1 as well, which must agree
// on whether the message is delivered.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SMTPServer } from 'smtp-server';
import { createTransport } from '../index.mjs';

const nodemailer = createRequire(import.meta.url)('nodemailer');
const FIXTURES = new URL('./fixtures/', import.meta.url);
const V1_CERT = readFileSync(new URL('v1.pem', FIXTURES), 'utf8');
const V1_KEY = readFileSync(new URL('v1.key', FIXTURES), 'utf8');

/** smtp-server without key/cert uses its built-in certificate (X.509 v1, CN=localhost). */
async function startServer(options = {}) {
  const received = [];
  const server = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        received.push({ secure: !!session.secure, raw: Buffer.concat(chunks).toString() });
        callback();
      });
    },
    ...options,
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.server.address().port, received, close: () => new Promise((r) => server.close(r)) };
}

async function send(create, port, options) {
  const t = create({ host: '127.0.0.1', port, ...options });
  try {
    await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'tls', text: 'hello' });
    return null;
  } catch (err) {
    return err;
  } finally {
    t.close();
  }
}

/** Runs the case with both libraries; returns mailer-rs's error (null when delivered). */
async function both(serverOptions, clientOptions, expectDelivered) {
  const results = {};
  for (const [name, create] of [['mailer-rs', createTransport], ['nodemailer', nodemailer.createTransport]]) {
    const srv = await startServer(serverOptions);
    try {
      const err = await send(create, srv.port, clientOptions);
      results[name] = err;
      assert.equal(err === null, expectDelivered, `${name}: ${err && err.message}`);
      if (expectDelivered) assert.equal(srv.received[0].secure, true, name);
    } finally {
      await srv.close();
    }
  }
  return results['mailer-rs'];
}

describe('X.509 v1 server certificates', () => {
  test("smtp-server's built-in certificate with rejectUnauthorized: false (STARTTLS)", async () => {
    await both({}, { tls: { rejectUnauthorized: false } }, true);
  });

  test("smtp-server's built-in certificate with rejectUnauthorized: false (implicit TLS)", async () => {
    await both({ secure: true }, { secure: true, tls: { rejectUnauthorized: false } }, true);
  });

  test('a v1 certificate given as tls.ca is trusted for its CN, as Node does', async () => {
    const server = { key: V1_KEY, cert: V1_CERT };
    await both(server, { tls: { ca: V1_CERT, servername: 'localhost' } }, true);
    await both({ ...server, secure: true }, { host: 'localhost', secure: true, tls: { ca: V1_CERT } }, true);
    // no subjectAltName: an IP address never matches
    const err = await both(server, { tls: { ca: V1_CERT } }, false);
    assert.equal(err.code, 'ETLS');
  });

  test('a v1 certificate not in tls.ca fails with a reason that says what to do', async () => {
    const err = await both({ key: V1_KEY, cert: V1_CERT }, { tls: { servername: 'localhost' } }, false);
    assert.equal(err.code, 'ETLS');
    assert.match(err.message, /X\.509 v1 certificate/);
    assert.match(err.message, /tls\.ca/);
    assert.match(err.message, /rejectUnauthorized: false/);
  });
});
