'use strict';
// Option handling that must stay in JS because it touches JS-only values (functions, Buffers, the
// environment). Parsing and validation live in Rust (`mailer-config`, the binding).

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
  return {
    // as Node's tls.connect: only `false` turns verification off (0 or 'false' do not)
    rejectUnauthorized: rejectUnauthorized !== false,
    ca: toTextList(tls.ca),
    servername: toText(tls.servername || servername),
    minVersion: toText(tls.minVersion),
    cert: toText(tls.cert),
    key: toText(tls.key && tls.key.pem ? tls.key.pem : tls.key),
    passphrase: toText(tls.passphrase),
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

module.exports = { sanitizeTransportOptions, sanitizeAuth, sanitizeTls, assign, customProxyScheme };
