'use strict';
// Option handling that must stay in JS because it touches JS-only values (functions, Buffers, the
// environment). Parsing and validation live in Rust (`mailer-config`, the binding).

const { X509Certificate } = require('node:crypto');

let warnedInsecureEnv = false;

function toText(v) {
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
}

function toTextList(v) {
  if (v === undefined || v === null || v === false) return undefined;
  return (Array.isArray(v) ? v : [v]).map(toText).filter(Boolean);
}

function pairs(obj) {
  if (!obj || typeof obj !== 'object') return undefined;
  return Object.keys(obj).filter((k) => k !== '__proto__').map((k) => [String(k), String(obj[k])]);
}

function num(v) {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) || n === Infinity ? n : undefined;
}

/** `tls` options for Rust: PEM text only, plus NODE_TLS_REJECT_UNAUTHORIZED honoured as Node's TLS does. */
function sanitizeTls(tls, servername) {
  tls = tls || {};
  let rejectUnauthorized = tls.rejectUnauthorized;
  if (rejectUnauthorized === undefined && process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    rejectUnauthorized = false;
    if (!warnedInsecureEnv) {
      warnedInsecureEnv = true;
      process.emitWarning(
        "Setting the NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0' makes TLS connections and HTTPS requests insecure by disabling certificate verification."
      );
    }
  }
  // Node also takes `key: [{ pem, passphrase }]`; one client key is used (the first)
  const key = Array.isArray(tls.key) ? tls.key[0] : tls.key;
  return {
    // as Node's tls.connect: only `false` turns verification off (0 or 'false' do not)
    rejectUnauthorized: rejectUnauthorized !== false,
    ca: toTextList(tls.ca),
    servername: toText(tls.servername || servername),
    minVersion: toText(tls.minVersion),
    cert: toText(tls.cert),
    key: toText(key && key.pem ? key.pem : key),
    // Node: a `{ pem, passphrase }` key's own passphrase wins over `tls.passphrase`
    passphrase: toText((key && key.pem && key.passphrase) || tls.passphrase),
  };
}

// `tls` keys mailer-rs honours; the rest (ciphers, ecdhCurve, secureContext, ...) are ignored:
// rustls chooses its own suites and curves.
const HONOURED_TLS_KEYS = new Set(['rejectUnauthorized', 'ca', 'servername', 'minVersion', 'cert', 'key', 'passphrase', 'checkServerIdentity']);

/** The `tls` keys that have no effect, for one debug line. */
function ignoredTlsKeys(tls) {
  if (!tls || typeof tls !== 'object') return [];
  return Object.keys(tls).filter((k) => !HONOURED_TLS_KEYS.has(k) && tls[k] !== undefined);
}

/** Certificates of a `tls.ca` value (strings or Buffers, each PEM may hold several). */
function caCertificates(ca) {
  const out = [];
  for (const pem of toTextList(ca) || []) {
    for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || []) {
      try {
        out.push(new X509Certificate(block));
      } catch {
        // not a certificate Node could read either: it cannot be in the chain
      }
    }
  }
  return out;
}

/**
 * Node's peer certificate object (`getPeerCertificate(true)`) from the DER chain, server's first.
 * As in Node, the chain goes on with the trusted issuers from `ca` and the last self-issued
 * certificate is its own issuer.
 */
function peerCertificate(chain, anchors) {
  const certs = chain.map((der) => new X509Certificate(der));
  for (let last = certs[certs.length - 1]; certs.length < 10 && last && last.subject !== last.issuer; last = certs[certs.length - 1]) {
    const issuer = anchors.find((ca) => last.checkIssued(ca) && !certs.some((c) => c.fingerprint256 === ca.fingerprint256));
    if (!issuer) break;
    certs.push(issuer);
  }
  const legacy = certs.map((c) => c.toLegacyObject());
  legacy.forEach((l, i) => {
    if (legacy[i + 1]) l.issuerCertificate = legacy[i + 1];
    else if (certs[i].subject === certs[i].issuer) l.issuerCertificate = l;
  });
  return legacy[0];
}

/**
 * `tls.checkServerIdentity(servername, cert)` for Rust: called after the handshake with the DER
 * chain; answers with the reason to refuse (the message of the Error it returns or throws), or null.
 */
function identityChecker(tls) {
  const fn = tls.checkServerIdentity;
  const anchors = caCertificates(tls.ca);
  return (servername, chain) => {
    let result;
    try {
      result = fn(servername, peerCertificate(chain, anchors));
    } catch (err) {
      result = err || new Error('checkServerIdentity threw');
    }
    if (!result) return null;
    return String((result && result.message) || result);
  };
}

/** The auth object for Rust: credentials and OAuth2 settings; functions stay in JS. */
function sanitizeAuth(auth) {
  if (!auth || typeof auth !== 'object') return undefined;
  const out = {};
  for (const key of ['type', 'user', 'pass', 'method', 'clientId', 'clientSecret', 'refreshToken', 'accessToken', 'accessUrl', 'serviceClient', 'scope']) {
    if (auth[key] !== undefined && auth[key] !== null && auth[key] !== '') out[key] = String(auth[key]);
  }
  for (const key of ['expires', 'timeout', 'serviceRequestTimeout', 'requestTimeout']) {
    const n = num(auth[key]);
    if (n !== undefined) out[key] = n;
  }
  if (auth.privateKey) {
    if (typeof auth.privateKey === 'object' && !Buffer.isBuffer(auth.privateKey)) {
      out.privateKey = toText(auth.privateKey.key);
      out.privateKeyPassphrase = toText(auth.privateKey.passphrase);
    } else out.privateKey = toText(auth.privateKey);
  }
  out.customHeaders = pairs(auth.customHeaders);
  out.customParams = pairs(auth.customParams);
  out.hasProvisionCallback = typeof auth.provisionCallback === 'function';
  // Token requests verify certificates unless auth.tls says otherwise (the SMTP `tls` does not apply).
  out.tls = sanitizeTls(auth.tls || {});
  return out;
}

const BUILTIN_PROXY_SCHEMES = new Set(['http', 'https', 'socks', 'socks4', 'socks4a', 'socks5']);

/** The scheme of a proxy URL the Rust engine has no client for (lower case), or null. */
function customProxyScheme(url) {
  const m = /^\s*([a-z][a-z0-9+.-]*):/i.exec(String(url));
  if (!m) return null;
  const scheme = m[1].toLowerCase();
  return BUILTIN_PROXY_SCHEMES.has(scheme) ? null : scheme;
}

/** Everything Rust reads from the merged transport options. */
function sanitizeTransportOptions(o) {
  const out = {
    host: o.host === undefined ? undefined : String(o.host),
    // nodemailer: `Number(port) || default`; out-of-range values fail at connect time
    port: Number(o.port) || undefined,
    secure: o.secure === undefined ? undefined : !!o.secure,
    name: o.name === undefined ? undefined : String(o.name),
    localAddress: o.localAddress === undefined ? undefined : String(o.localAddress),
    ignoreTLS: !!o.ignoreTLS,
    requireTLS: !!o.requireTLS,
    opportunisticTLS: !!o.opportunisticTLS,
    lmtp: !!o.lmtp,
    forceAuth: !!o.forceAuth,
    authMethod: o.authMethod === undefined ? undefined : String(o.authMethod),
    debug: !!(o.debug || o.transactionLog),
    logBody: !!o.debug,
    logger: !!o.logger,
    pool: !!o.pool,
    maxConnections: num(o.maxConnections),
    maxMessages: num(o.maxMessages),
    rateDelta: num(o.rateDelta),
    rateLimit: num(o.rateLimit),
    maxRequeues: num(o.maxRequeues),
    hostname: o.hostname === undefined ? undefined : String(o.hostname),
    tls: sanitizeTls(o.tls, o.servername),
    // nodemailer only honours a string proxy URL; one of a scheme the engine does not speak
    // is for a custom proxy handler (lib/socket-bridge.js)
    proxy: typeof o.proxy === 'string' && o.proxy && !customProxyScheme(o.proxy) ? o.proxy : undefined,
  };
  for (const key of ['connectionTimeout', 'greetingTimeout', 'socketTimeout', 'dnsTimeout']) out[key] = num(o[key]);
  out.auth = sanitizeAuth(o.auth);
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** nodemailer's `assign`: shallow, except `tls` and `auth`, which merge key by key. */
function assign(target, ...sources) {
  for (const src of sources) {
    if (!src) continue;
    for (const key of Object.keys(src)) {
      if (key === '__proto__') continue;
      if ((key === 'tls' || key === 'auth') && src[key] && typeof src[key] === 'object') {
        target[key] = Object.assign({}, target[key] || {}, src[key]);
      } else target[key] = src[key];
    }
  }
  return target;
}

module.exports = { sanitizeTransportOptions, sanitizeAuth, sanitizeTls, assign, customProxyScheme, ignoredTlsKeys, identityChecker };
