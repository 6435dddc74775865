// OAuth2 token endpoints for the XOAUTH2 tests.
//
// (a) startMockOAuth(): oauth2-mock-server 8.2.3 (RS256 key) behind our own http(s) server,
//     so every token request is counted and its form body recorded, and the next answers
//     can be turned into failures:
//
//       const oauth = await startMockOAuth();
//       auth: { type: 'OAuth2', user, clientId, clientSecret, refreshToken, accessUrl: oauth.tokenUrl }
//       oauth.failNext('invalid_grant');    // 400 {"error":"invalid_grant","error_description":"Bad Request"}
//       oauth.failNext('http500');          // 500 text/html page
//       oauth.failNext('invalid_json');     // 200 application/json, body not JSON
//       oauth.failNext('hang');             // never answers (until close())
//       oauth.failNext({ status, headers, body, delay });   // anything else (delay: ms before answering); a non-string body
//                                           // is sent as JSON
//       oauth.tokenRequests                 // [{ body: {grant_type, ...}, headers }]
//       oauth.issuedTokens                  // Set of access tokens handed out (pass it to
//                                           // startSmtpServer({ xoauth2: true, validTokens }))
//       oauth.expiresIn = 2;                // expires_in of the next successful answers
//
// (b) startJwtBearerEndpoint({ publicKey, serviceClient, user }): a Google-like 2LO endpoint
//     that accepts only grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with an RS256
//     assertion signed by the matching private key and the expected claims.
//
// (c) startStrictOAuth({ clients, grants }): a refresh-token endpoint that checks credentials the
//     way Google does (oauth2-mock-server accepts any refresh token): the client id and secret must
//     match, the refresh token must be known and not revoked, and each access token is bound to
//     the user its refresh token was granted for (issuedTokens: Map token → user, which
//     startSmtpServer's `validTokens` accepts to check the XOAUTH2 user too).
//
// All take { https: true } to serve TLS with the committed localhost certificate
// (clients then need the CA, see CERTS.ca in smtp.mjs).

import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import querystring from 'node:querystring';
import { OAuth2Server } from 'oauth2-mock-server';
import { CERTS } from './smtp.mjs';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DEFAULT_SCOPE = 'https://mail.google.com/';

function createServer(useHttps, handler) {
    return useHttps ? https.createServer({ key: CERTS.serverKey, cert: CERTS.serverCert }, handler) : http.createServer(handler);
}

async function listen(server) {
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
        });
    });
    return server.address().port;
}

/** Closes a server and every socket on it, including requests left hanging on purpose. */
function closeServer(server, hanging) {
    for (const res of hanging) {
        res.destroy();
    }
    server.closeAllConnections();
    return new Promise(resolve => server.close(() => resolve()));
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        req.on('data', c => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', reject);
    });
}

function sendJson(res, status, value) {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(body);
}

const FAULTS = {
    invalid_grant: { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'invalid_grant', error_description: 'Bad Request' }) },
    http500: {
        status: 500,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n'
    },
    invalid_json: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"access_token": "tok' },
    hang: 'hang'
};

/**
 * oauth2-mock-server on 127.0.0.1 (random port) with request recording and fault injection.
 * @param {{ https?: boolean }} [opts]
 */
export async function startMockOAuth(opts = {}) {
    const mock = new OAuth2Server();
    await mock.issuer.keys.generate('RS256');

    const tokenRequests = [];
    const issuedTokens = new Set();
    const faults = [];
    const hanging = new Set();
    const state = { expiresIn: null };

    mock.service.on('beforeResponse', response => {
        if (response.statusCode === 200 && response.body && response.body.access_token) {
            if (state.expiresIn !== null) {
                response.body.expires_in = state.expiresIn;
            }
            issuedTokens.add(response.body.access_token);
        }
    });

    const handler = mock.service.requestHandler;
    const server = createServer(!!opts.https, async (req, res) => {
        const path = new URL(req.url, 'http://x').pathname;
        if (req.method !== 'POST' || path !== '/token') {
            return handler(req, res);
        }
        const raw = await readBody(req);
        // a plain object: querystring.parse returns a null-prototype one
        const body = { ...querystring.parse(raw) };
        tokenRequests.push({ body, headers: { ...req.headers } });

        const fault = faults.shift();
        if (fault === 'hang') {
            hanging.add(res);
            return undefined;
        }
        if (fault && fault.delay) {
            await new Promise(resolve => setTimeout(resolve, fault.delay));
        }
        if (fault) {
            const isRaw = typeof fault.body === 'string' || Buffer.isBuffer(fault.body) || fault.body === undefined;
            const headers = isRaw ? fault.headers || {} : { 'content-type': 'application/json', ...(fault.headers || {}) };
            res.writeHead(fault.status ?? 200, headers);
            return res.end(isRaw ? (fault.body ?? '') : JSON.stringify(fault.body));
        }
        // The body is consumed (the request is finished), so express' parsers skip it and
        // the mock's token handler reads this one.
        req.body = body;
        return handler(req, res);
    });
    const port = await listen(server);
    const origin = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
    mock.issuer.url = origin;

    let closing = null;
    return {
        port,
        server,
        mock,
        origin,
        tokenUrl: `${origin}/token`,
        tokenRequests,
        issuedTokens,
        get tokenRequestCount() {
            return tokenRequests.length;
        },
        get expiresIn() {
            return state.expiresIn;
        },
        /** expires_in for the next successful answers (null: the mock's 3600). */
        set expiresIn(value) {
            state.expiresIn = value;
        },
        /**
         * Queues a failure for the next token request: 'invalid_grant', 'http500',
         * 'invalid_json', 'hang', or { status, headers, body } (object body → JSON).
         */
        failNext(kind) {
            const fault = typeof kind === 'string' ? FAULTS[kind] : kind;
            if (!fault) {
                throw new Error('unknown fault ' + kind);
            }
            faults.push(fault);
        },
        close() {
            closing ||= closeServer(server, hanging);
            return closing;
        }
    };
}

function b64urlJson(part) {
    try {
        return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    } catch {
        return null;
    }
}

/**
 * Checks a jwt-bearer assertion the way Google does; returns null if fine, else the reason.
 * Exported for tests of the check itself.
 */
export function checkAssertion(assertion, { publicKey, serviceClient, user, audience, scope = DEFAULT_SCOPE, now = Date.now() }) {
    const parts = String(assertion || '').split('.');
    if (parts.length !== 3) {
        return 'not a JWT';
    }
    const [h, p, s] = parts;
    const header = b64urlJson(h);
    const claims = b64urlJson(p);
    if (!header || !claims) {
        return 'undecodable JWT';
    }
    if (header.alg !== 'RS256') {
        return 'alg is not RS256';
    }
    const signed = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'));
    if (!signed) {
        return 'bad signature';
    }
    if (claims.iss !== serviceClient) {
        return 'wrong iss';
    }
    if (user !== undefined && claims.sub !== user) {
        return 'wrong sub';
    }
    if (claims.aud !== audience) {
        return 'wrong aud';
    }
    if (claims.scope !== scope) {
        return 'wrong scope';
    }
    const nowSec = Math.floor(now / 1000);
    if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) {
        return 'iat/exp not integers';
    }
    // Google allows a little clock skew and at most one hour of validity
    if (claims.iat > nowSec + 60 || claims.iat < nowSec - 3600) {
        return 'iat out of range';
    }
    if (claims.exp <= nowSec || claims.exp <= claims.iat || claims.exp - claims.iat > 3600) {
        return 'exp out of range';
    }
    return null;
}

/**
 * A 2LO (service account) token endpoint on 127.0.0.1 (random port).
 * @param {{ publicKey: crypto.KeyObject|string, serviceClient: string, user?: string,
 *           scope?: string, https?: boolean }} opts  `user`: expected `sub` (unchecked if omitted)
 * @returns {Promise<{ port, server, tokenUrl, tokenRequests, issuedTokens, rejections, close() }>}
 *   tokenRequests: [{ body, headers }]; rejections: why each refused request was refused
 *   (the client only sees 400 {"error":"invalid_grant"})
 */
export async function startJwtBearerEndpoint(opts) {
    const tokenRequests = [];
    const issuedTokens = new Set();
    const rejections = [];
    let tokenUrl = '';

    const server = createServer(!!opts.https, async (req, res) => {
        const raw = await readBody(req);
        const body = { ...querystring.parse(raw) };
        tokenRequests.push({ body, headers: { ...req.headers } });

        const reject = reason => {
            rejections.push(reason);
            // Google adds an error_description; the bare form keeps client messages predictable
            sendJson(res, 400, { error: 'invalid_grant' });
        };
        if (req.method !== 'POST' || new URL(req.url, 'http://x').pathname !== '/token') {
            return reject('not POST /token');
        }
        if (body.grant_type !== JWT_BEARER) {
            return reject('unsupported grant_type');
        }
        const reason = checkAssertion(body.assertion, {
            publicKey: opts.publicKey,
            serviceClient: opts.serviceClient,
            user: opts.user,
            audience: tokenUrl,
            scope: opts.scope ?? DEFAULT_SCOPE
        });
        if (reason) {
            return reject(reason);
        }
        const accessToken = 'ya29.' + crypto.randomBytes(24).toString('base64url');
        issuedTokens.add(accessToken);
        return sendJson(res, 200, { access_token: accessToken, expires_in: 3600, token_type: 'Bearer' });
    });
    const port = await listen(server);
    tokenUrl = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}/token`;

    let closing = null;
    return {
        port,
        server,
        tokenUrl,
        tokenRequests,
        issuedTokens,
        rejections,
        close() {
            closing ||= closeServer(server, []);
            return closing;
        }
    };
}

/**
 * A strict 3LO refresh-token endpoint on 127.0.0.1 (random port).
 * @param {{ clients: Record<string, string>, grants: Record<string, string>, expiresIn?: number,
 *           https?: boolean }} opts  clients: clientId → clientSecret; grants: refreshToken → user
 * @returns {Promise<{ port, server, tokenUrl, tokenRequests, issuedTokens: Map<string, string>,
 *   expiresIn: number, revoke(refreshToken), close() }>}  tokenRequests: [{ body, headers, answer }]
 *   (answer: 'ok', 'invalid_client' or 'invalid_grant')
 */
export async function startStrictOAuth(opts) {
    const tokenRequests = [];
    const issuedTokens = new Map();
    const revoked = new Set();
    const state = { expiresIn: opts.expiresIn ?? 3600 };
    const server = createServer(!!opts.https, async (req, res) => {
        const raw = await readBody(req);
        const body = { ...querystring.parse(raw) };
        const record = { body, headers: { ...req.headers }, answer: 'ok' };
        tokenRequests.push(record);
        const refuse = (status, error, description) => {
            record.answer = error;
            sendJson(res, status, description ? { error, error_description: description } : { error });
        };
        if (req.method !== 'POST' || new URL(req.url, 'http://x').pathname !== '/token' || body.grant_type !== 'refresh_token') {
            return refuse(400, 'unsupported_grant_type');
        }
        if (!Object.hasOwn(opts.clients, body.client_id) || opts.clients[body.client_id] !== body.client_secret) {
            return refuse(401, 'invalid_client', 'The OAuth client was not found.');
        }
        const user = Object.hasOwn(opts.grants, body.refresh_token) ? opts.grants[body.refresh_token] : undefined;
        if (user === undefined || revoked.has(body.refresh_token)) {
            return refuse(400, 'invalid_grant', 'Token has been expired or revoked.');
        }
        const accessToken = 'ya29.' + crypto.randomBytes(18).toString('base64url');
        issuedTokens.set(accessToken, user);
        return sendJson(res, 200, { access_token: accessToken, expires_in: state.expiresIn, token_type: 'Bearer' });
    });
    const port = await listen(server);
    let closing = null;
    return {
        port,
        server,
        tokenUrl: `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}/token`,
        tokenRequests,
        issuedTokens,
        get expiresIn() {
            return state.expiresIn;
        },
        set expiresIn(value) {
            state.expiresIn = value;
        },
        /** The refresh token stops working; access tokens already issued stay valid (as Google). */
        revoke(refreshToken) {
            revoked.add(refreshToken);
        },
        close() {
            closing ||= closeServer(server, []);
            return closing;
        }
    };
}
