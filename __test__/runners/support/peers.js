'use strict';
// Loopback peers for the test-runner suites (CommonJS: jest loads it into each test file's
// context without a transform, vitest as it is): an smtp-server that records what it receives,
// and a token endpoint for the XOAUTH2 test. Each test file starts its own in beforeAll and
// closes it in afterAll, so `jest --detectOpenHandles` sees nothing of ours left open.
const http = require('node:http');
const { SMTPServer } = require('smtp-server');

/**
 * An SMTP server on 127.0.0.1: no STARTTLS (plain loopback), AUTH allowed in the clear,
 * XOAUTH2 accepted for any token the token endpoint issued. RCPT TO for an address starting
 * with `reject` is answered with 550.
 */
function startSmtp({ tokens = new Set() } = {}) {
  const messages = [];
  const server = new SMTPServer({
    hideSTARTTLS: true,
    allowInsecureAuth: true,
    authOptional: true,
    authMethods: ['PLAIN', 'XOAUTH2'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onAuth(auth, session, cb) {
      if (auth.method === 'XOAUTH2' && tokens.has(auth.accessToken)) return cb(null, { user: auth.username });
      if (auth.method === 'PLAIN' && auth.password === 'secret') return cb(null, { user: auth.username });
      return cb(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
    },
    onRcptTo(address, session, cb) {
      if (address.address.startsWith('reject')) return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        cb(null, 'Queued');
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({ port: server.server.address().port, messages, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/** An OAuth2 token endpoint: every refresh gets a new access token, valid for an hour. */
function startTokenEndpoint(tokens) {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const token = `token-${++n}`;
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ access_token: token, expires_in: 3600, token_type: 'Bearer' }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/token`,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
      });
    });
  });
}

module.exports = { startSmtp, startTokenEndpoint };
