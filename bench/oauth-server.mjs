#!/usr/bin/env node
// Receiver for scenario 5, run as a SEPARATE process so its CPU is not billed to the client:
// npm smtp-server (XOAUTH2, no STARTTLS, no reverse lookup, draining onData) plus an OAuth2 token
// endpoint that COUNTS token requests. Hand-written endpoint rather than oauth2-mock-server: we only
// need `refresh_token` grants, a counter and a shared set of issued tokens, which is ~30 lines and
// avoids RSA key generation at start-up.
//   node bench/oauth-server.mjs   -> prints {"ready":true,"smtpPort":P,"tokenPort":Q} on stdout
//   GET  http://127.0.0.1:Q/stats -> {"tokenRequests","authOk","authFail","accepted","connections"}
//   POST http://127.0.0.1:Q/reset -> zeroes the counters
//   POST http://127.0.0.1:Q/token -> the token endpoint (form-encoded, grant_type=refresh_token)
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './lib/common.mjs';

const require = createRequire(import.meta.url);
const { SMTPServer } = require(path.join(ROOT, 'node_modules', 'smtp-server'));

const REFRESH_TOKEN = 'bench-refresh';
const issued = new Set();
let counter = 0;
const stats = { tokenRequests: 0, authOk: 0, authFail: 0, accepted: 0, connections: 0 };

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const tokenServer = http.createServer(async (req, res) => {
  const send = (status, obj) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  try {
    if (req.method === 'GET' && req.url === '/stats') return send(200, stats);
    if (req.method === 'POST' && req.url === '/reset') {
      for (const k of Object.keys(stats)) stats[k] = 0;
      issued.clear();
      return send(200, stats);
    }
    if (req.method === 'POST' && req.url === '/token') {
      stats.tokenRequests++;
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH_TOKEN) {
        return send(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      }
      const token = `bench-access-${++counter}`;
      issued.add(token);
      return send(200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    }
    send(404, { error: 'not_found' });
  } catch {
    send(500, { error: 'server_error' });
  }
});

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
  disableReverseLookup: true,
  logger: false,
  maxClients: 1000,
  onConnect(session, cb) {
    stats.connections++; // shows whether a pool really reuses its connections
    cb();
  },
  onAuth(auth, session, cb) {
    if (auth.method === 'XOAUTH2' && issued.has(auth.accessToken)) {
      stats.authOk++;
      return cb(null, { user: auth.username });
    }
    stats.authFail++;
    // Gmail's answer to a stale token: drives the client's "refresh and retry AUTH once" path.
    cb(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
  },
  onData(stream, session, cb) {
    stream.on('end', () => {
      stats.accepted++;
      cb();
    });
    stream.resume();
  },
});

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

const smtpPort = await new Promise((resolve, reject) => {
  smtp.on('error', reject);
  smtp.listen(0, '127.0.0.1', () => resolve(smtp.server.address().port));
});
const tokenPort = await listen(tokenServer);
process.stdout.write(JSON.stringify({ ready: true, smtpPort, tokenPort }) + '\n');

const shutdown = () => {
  tokenServer.close();
  smtp.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
