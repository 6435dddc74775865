// TLS fidelity against smtp-server: X.509 v1 server certificates (smtp-server's built-in one,
// and __test__/fixtures/v1.pem), each case run with nodemailer 10.6.1 as well, which must agree
// on whether the message is delivered.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { format } from 'node:util';
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
  // a client that refuses the certificate drops the socket mid-TLS: smtp-server reports that here
  server.on('error', () => {});
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
  // a failure has nodemailer's code
  if (!expectDelivered) assert.equal(results['mailer-rs'].code, results.nodemailer.code, `${results['mailer-rs'].message} / ${results.nodemailer.message}`);
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
    assert.equal(err.code, 'ESOCKET');
  });

  test('a v1 certificate not in tls.ca fails with a reason that says what to do', async () => {
    const err = await both({ key: V1_KEY, cert: V1_CERT }, { tls: { servername: 'localhost' } }, false);
    assert.equal(err.code, 'ESOCKET');
    assert.match(err.message, /X\.509 v1 certificate/);
    assert.match(err.message, /tls\.ca/);
    assert.match(err.message, /rejectUnauthorized: false/);
  });
});

const CA = readFileSync(new URL('ca.pem', FIXTURES), 'utf8');
const SERVER_CERT = readFileSync(new URL('server.pem', FIXTURES), 'utf8');
const SERVER_KEY = readFileSync(new URL('server.key', FIXTURES), 'utf8');
const CLIENT_CERT = readFileSync(new URL('client.pem', FIXTURES), 'utf8');
const CLIENT_KEY = readFileSync(new URL('client.key', FIXTURES), 'utf8');
const SERVER = { key: SERVER_KEY, cert: SERVER_CERT };

describe('tls.passphrase (encrypted client keys)', () => {
  const { createPrivateKey } = createRequire(import.meta.url)('node:crypto');
  const encrypted = createPrivateKey(CLIENT_KEY).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'client-pass' });
  // the server refuses a client without a certificate its CA issued
  const server = { ...SERVER, secure: true, requestCert: true, rejectUnauthorized: true, ca: CA };
  const client = (tls) => ({ host: 'localhost', secure: true, tls: { ca: CA, cert: CLIENT_CERT, ...tls } });

  test('an encrypted PKCS#8 key with its passphrase authenticates the client', async () => {
    await both(server, client({ key: encrypted, passphrase: 'client-pass' }), true);
    await both(server, client({ key: [{ pem: encrypted, passphrase: 'client-pass' }] }), true);
  });

  test('a wrong or missing passphrase fails without the key in the error', async () => {
    const wrong = await both(server, client({ key: encrypted, passphrase: 'nope' }), false);
    assert.equal(wrong.code, 'ECONNECTION');
    assert.match(wrong.message, /could not decrypt the client private key/);
    const missing = await both(server, client({ key: encrypted }), false);
    assert.equal(missing.code, 'ECONNECTION');
    assert.match(missing.message, /tls\.passphrase/);
    for (const err of [wrong, missing]) assert.doesNotMatch(JSON.stringify({ ...err, message: err.message }), /PRIVATE KEY|client-pass|nope/);
  });
});

describe('tls.checkServerIdentity', () => {
  const { X509Certificate } = createRequire(import.meta.url)('node:crypto');
  const pin = new X509Certificate(SERVER_CERT).fingerprint256;
  const tlsModule = createRequire(import.meta.url)('node:tls');

  test("is called with the servername and Node's peer certificate object, STARTTLS and implicit TLS", async () => {
    for (const secure of [false, true]) {
      const calls = { 'mailer-rs': [], nodemailer: [] };
      for (const [name, create] of [['mailer-rs', createTransport], ['nodemailer', nodemailer.createTransport]]) {
        const srv = await startServer({ ...SERVER, secure });
        try {
          const err = await send(create, srv.port, {
            host: 'localhost',
            secure,
            tls: {
              ca: CA,
              checkServerIdentity: (host, cert) => {
                calls[name].push({ host, cert });
                return tlsModule.checkServerIdentity(host, cert) || (cert.fingerprint256 === pin ? undefined : new Error('pin mismatch'));
              },
            },
          });
          assert.equal(err, null, `${name}: ${err && err.message}`);
        } finally {
          await srv.close();
        }
      }
      const [ours] = calls['mailer-rs'];
      const [theirs] = calls.nodemailer;
      assert.equal(calls['mailer-rs'].length, 1);
      assert.equal(ours.host, theirs.host);
      for (const key of ['subject', 'issuer', 'subjectaltname', 'fingerprint256', 'fingerprint', 'serialNumber', 'valid_from', 'valid_to']) {
        assert.deepEqual(ours.cert[key], theirs.cert[key], key);
      }
      assert.ok(Buffer.isBuffer(ours.cert.raw) && ours.cert.raw.equals(theirs.cert.raw), 'raw');
      assert.ok(ours.cert.pubkey.equals(theirs.cert.pubkey), 'pubkey');
      assert.deepEqual(ours.cert.issuerCertificate?.subject, theirs.cert.issuerCertificate?.subject);
    }
  });

  test('an error it returns fails the connection before any message (ESOCKET, its message)', async () => {
    for (const secure of [false, true]) {
      const srv = await startServer({ ...SERVER, secure });
      try {
        const options = { host: 'localhost', secure, tls: { ca: CA, checkServerIdentity: () => new Error('pin mismatch') } };
        const ours = await send(createTransport, srv.port, options);
        const theirs = await send(nodemailer.createTransport, srv.port, options);
        assert.equal(ours.code, 'ESOCKET');
        assert.equal(ours.code, theirs.code);
        assert.equal(ours.message, theirs.message);
        assert.equal(srv.received.length, 0);
      } finally {
        await srv.close();
      }
    }
  });

  test('a getSocket socket the transport upgrades to TLS (secure, not secured) is checked too', async () => {
    // getSocket hands over a plain socket to the server's port; the transport runs the TLS
    // handshake on it, which in Node calls checkServerIdentity as a direct connection does
    const getSocket = (options, cb) => {
      const s = net.connect(options.port, '127.0.0.1', () => {
        s.removeListener('error', cb);
        cb(null, { connection: s });
      });
      s.once('error', cb);
    };
    const calls = { 'mailer-rs': [], nodemailer: [] };
    const errors = {};
    for (const [name, create] of [['mailer-rs', createTransport], ['nodemailer', nodemailer.createTransport]]) {
      for (const verdict of [undefined, new Error('pin mismatch')]) {
        const srv = await startServer({ ...SERVER, secure: true });
        try {
          const checkServerIdentity = (host, cert) => {
            calls[name].push({ host, fingerprint256: cert.fingerprint256 });
            return verdict;
          };
          const err = await send(create, srv.port, { host: 'localhost', secure: true, getSocket, tls: { ca: CA, checkServerIdentity } });
          if (verdict) {
            errors[name] = err;
            assert.equal(srv.received.length, 0, name);
          } else {
            assert.equal(err, null, `${name}: ${err && err.message}`);
            assert.equal(srv.received.length, 1, name);
          }
        } finally {
          await srv.close();
        }
      }
    }
    assert.deepEqual(calls['mailer-rs'], [
      { host: 'localhost', fingerprint256: pin },
      { host: 'localhost', fingerprint256: pin },
    ]);
    assert.deepEqual(calls['mailer-rs'], calls.nodemailer);
    assert.equal(errors['mailer-rs'].code, 'ESOCKET');
    assert.equal(errors['mailer-rs'].code, errors.nodemailer.code);
    assert.equal(errors['mailer-rs'].message, errors.nodemailer.message);
    assert.equal(errors['mailer-rs'].command, errors.nodemailer.command);
  });

  test('an untrusted certificate on a getSocket socket the transport upgrades fails as in nodemailer', async () => {
    const getSocket = (options, cb) => {
      const s = net.connect(options.port, '127.0.0.1', () => {
        s.removeListener('error', cb);
        cb(null, { connection: s });
      });
      s.once('error', cb);
    };
    const errors = {};
    for (const [name, create] of [['mailer-rs', createTransport], ['nodemailer', nodemailer.createTransport]]) {
      const srv = await startServer({ ...SERVER, secure: true });
      try {
        // no `ca`: the test CA is not trusted
        errors[name] = await send(create, srv.port, { host: 'localhost', secure: true, getSocket });
        assert.ok(errors[name], `${name} sent through an untrusted certificate`);
        assert.equal(srv.received.length, 0, name);
      } finally {
        await srv.close();
      }
    }
    assert.equal(errors['mailer-rs'].code, 'ESOCKET');
    assert.equal(errors['mailer-rs'].code, errors.nodemailer.code);
    assert.equal(errors['mailer-rs'].command, errors.nodemailer.command);
  });

  test('it replaces the name check, not the chain check (as in Node)', async () => {
    // servername the certificate does not name: accepted only because the function accepts it
    const accept = { ca: CA, servername: 'mx.example.com', checkServerIdentity: () => undefined };
    await both(SERVER, { host: 'localhost', tls: accept }, true);
    await both(SERVER, { host: 'localhost', tls: { ca: CA, servername: 'mx.example.com' } }, false);
    // an unknown issuer still fails
    await both(SERVER, { host: 'localhost', tls: { checkServerIdentity: () => undefined } }, false);
  });
});

describe('other tls keys', () => {
  test('ciphers, ecdhCurve, ... are ignored with one debug line naming them', async () => {
    const srv = await startServer(SERVER);
    try {
      const lines = [];
      const logger = { debug: (e, ...a) => lines.push(['debug', format(...a)]), info() {}, warn() {}, error() {}, trace() {}, fatal() {} };
      const options = { host: 'localhost', logger, tls: { ca: CA, ciphers: 'HIGH', ecdhCurve: 'auto', honorCipherOrder: true } };
      assert.equal(await send(createTransport, srv.port, options), null);
      const ignored = lines.filter(([, m]) => /without effect/.test(m));
      assert.equal(ignored.length, 1);
      assert.match(ignored[0][1], /ciphers, ecdhCurve, honorCipherOrder/);
    } finally {
      await srv.close();
    }
  });
});
