// Test SMTP server: smtp-server 3.21.6 with the committed test certificates.
//
//   const srv = await startSmtpServer({ users: { alice: 'secret' } });
//   ... send to 127.0.0.1:srv.port with tls: { ca: CA } ...
//   srv.messages[0].raw            // Buffer, exactly what DATA delivered (dot-unstuffed)
//   await srv.close();
//
// Options:
//   secure        implicit TLS (default false: plaintext + STARTTLS advertised)
//   users         { name: pass } accepted for PLAIN, LOGIN and CRAM-MD5
//   xoauth2       enable XOAUTH2; accepts only tokens currently in `validTokens`
//                 and rejects others the way Gmail does (334 JSON challenge, then 535)
//   validTokens   a Set shared with the test (e.g. startMockOAuth().issuedTokens);
//                 a new Set if not given; or a Map token → user (startStrictOAuth().issuedTokens):
//                 then a token is accepted only for the user it was issued to (exact string)
//   authMethods   override the advertised mechanisms
//   authOptional  default: true when neither users nor xoauth2 is set, else false
//   onMessage     (message) => Error | undefined; returning an Error rejects the DATA
//                 (err.responseCode sets the reply code)
//   rejectRcpt    (address, session) => boolean; true answers RCPT TO with 550
//   rejectData    (address) => boolean, per recipient after DATA; with `lmtp: true` each
//                 recipient gets its own reply (550 for the rejected ones), with SMTP one
//                 rejected recipient fails the whole DATA with 550
//   closeTimeout  ms close() waits for clients to QUIT before it ends their sessions
//                 with 421 (default 200)
//   any other key (hidePIPELINING, hideSTARTTLS, size, lmtp, disabledCommands, requestCert,
//                 ...) goes to `new SMTPServer()` as is; so does `serverOptions`, applied last
//
// Returned: { port, server, messages, connections, authAttempts, validTokens, errors, close() }
//   messages      [{ envelope: { mailFrom, rcptTo }, raw: Buffer, connectionId, user, secure,
//                    rejectedRecipients }]  (secure: TLS, implicit or after STARTTLS)
//   connections   Map: connection id → number of messages accepted on it
//   authAttempts  [{ method, username, accessToken?, connectionId, ok }]

import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/** PEM strings of the committed test certificates (test-only keys). */
export const CERTS = {
    ca: readFileSync(new URL('ca.pem', FIXTURES), 'utf8'),
    serverCert: readFileSync(new URL('server.pem', FIXTURES), 'utf8'),
    serverKey: readFileSync(new URL('server.key', FIXTURES), 'utf8'),
    clientCert: readFileSync(new URL('client.pem', FIXTURES), 'utf8'),
    clientKey: readFileSync(new URL('client.key', FIXTURES), 'utf8')
};

/** The error challenge Gmail sends for a rejected XOAUTH2 token. */
export const GMAIL_XOAUTH2_ERROR = { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' };

/**
 * Starts an SMTP server on 127.0.0.1 (random port).
 * @param {object} [opts] see the header comment
 */
export async function startSmtpServer(opts = {}) {
    const {
        secure,
        users: _users,
        xoauth2,
        validTokens: _validTokens,
        authMethods: _authMethods,
        authOptional: _authOptional,
        onMessage,
        rejectRcpt,
        rejectData,
        closeTimeout,
        serverOptions,
        ...passThrough
    } = opts;
    const users = _users || null;
    const validTokens = _validTokens || new Set();
    const messages = [];
    const connections = new Map();
    const authAttempts = [];

    const authMethods = _authMethods || [...(users ? ['PLAIN', 'LOGIN', 'CRAM-MD5'] : []), ...(xoauth2 ? ['XOAUTH2'] : [])];
    const authOptional = _authOptional ?? !(users || xoauth2);

    const server = new SMTPServer({
        secure: !!secure,
        key: CERTS.serverKey,
        cert: CERTS.serverCert,
        disableReverseLookup: true,
        logger: false,
        authMethods,
        authOptional,
        closeTimeout: closeTimeout ?? 200,

        onRcptTo(address, session, callback) {
            if (rejectRcpt && rejectRcpt(address.address, session)) {
                const err = new Error('5.1.1 <' + address.address + '>: Recipient address rejected');
                err.responseCode = 550;
                return callback(err);
            }
            return callback();
        },

        onConnect(session, callback) {
            connections.set(session.id, 0);
            callback();
        },

        onAuth(auth, session, callback) {
            const attempt = { method: auth.method, username: auth.username, connectionId: session.id, ok: false };
            authAttempts.push(attempt);

            if (auth.method === 'XOAUTH2') {
                attempt.accessToken = auth.accessToken;
                const valid = validTokens instanceof Map ? validTokens.get(auth.accessToken) === auth.username : validTokens.has(auth.accessToken);
                if (xoauth2 && valid) {
                    attempt.ok = true;
                    return callback(null, { user: auth.username });
                }
                // no `user`: smtp-server answers 334 <base64 JSON>, then 535 to the next line
                return callback(null, { data: { ...GMAIL_XOAUTH2_ERROR } });
            }

            const expected = users && Object.prototype.hasOwnProperty.call(users, auth.username) ? users[auth.username] : null;
            let ok = false;
            if (expected !== null) {
                // CRAM-MD5 carries no password, only an HMAC to check against ours
                ok = auth.method === 'CRAM-MD5' ? auth.validatePassword(expected) : auth.password === expected;
            }
            if (!ok) {
                const err = new Error('Invalid username or password');
                err.responseCode = 535;
                return callback(err);
            }
            attempt.ok = true;
            return callback(null, { user: auth.username });
        },

        onData(stream, session, callback) {
            const chunks = [];
            stream.on('data', chunk => chunks.push(chunk));
            stream.on('error', callback);
            stream.on('end', () => {
                // smtp-server only flags an oversized message; answering 552 is up to us
                if (stream.sizeExceeded) {
                    const err = new Error('Error: message exceeds fixed maximum message size ' + server.options.size);
                    err.responseCode = 552;
                    return callback(err);
                }
                const rcptTo = session.envelope.rcptTo.map(r => ({ ...r }));
                const rejectedRecipients = rejectData ? rcptTo.map(r => r.address).filter(a => rejectData(a)) : [];
                const message = {
                    envelope: { mailFrom: session.envelope.mailFrom, rcptTo },
                    raw: Buffer.concat(chunks),
                    connectionId: session.id,
                    user: session.user,
                    secure: !!session.secure,
                    rejectedRecipients
                };
                const rejection = onMessage ? onMessage(message) : undefined;
                if (rejection instanceof Error) {
                    return callback(rejection);
                }
                const dataError = address => {
                    const err = new Error('5.7.1 <' + address + '>: Message rejected for this recipient');
                    err.responseCode = 550;
                    return err;
                };
                if (rejectedRecipients.length && !passThrough.lmtp) {
                    return callback(dataError(rejectedRecipients[0]));
                }
                if (rejectedRecipients.length === rcptTo.length && rcptTo.length) {
                    // LMTP with every recipient refused: nothing was delivered
                    return callback(null, rcptTo.map(r => dataError(r.address)));
                }
                messages.push(message);
                connections.set(session.id, (connections.get(session.id) || 0) + 1);
                const queued = 'Message queued as ' + messages.length;
                if (rejectedRecipients.length) {
                    return callback(
                        null,
                        rcptTo.map(r => (rejectedRecipients.includes(r.address) ? dataError(r.address) : queued))
                    );
                }
                return callback(null, queued);
            });
        },

        ...passThrough,
        ...(serverOptions || {})
    });
    // e.g. a client that drops the connection mid-session; kept for tests to inspect
    const errors = [];
    server.on('error', err => errors.push(err));

    await new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            server.server.off('error', reject);
            resolve();
        });
    });

    let closing = null;
    return {
        port: server.server.address().port,
        server,
        messages,
        connections,
        authAttempts,
        validTokens,
        errors,
        /** Stops listening; open sessions get 421 after `closeTimeout` ms. Idempotent. */
        close() {
            closing ||= new Promise(resolve => server.close(resolve));
            return closing;
        }
    };
}

/** Runs `fn(srv)` with an smtp-server (AUTH optional, STARTTLS offered) and closes it afterwards. */
export async function withSmtpServer(fn, opts = {}) {
  const srv = await startSmtpServer({ authOptional: true, ...opts });
  try {
    await fn(srv);
  } finally {
    await srv.close();
  }
}
