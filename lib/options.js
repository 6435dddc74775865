'use strict';
// The options path on the JS side. `createTransport`'s input goes to Rust once
// (`native.resolveTransport`, crates/config): it parses the URL, merges the URL, the service
// entry and the user's options as nodemailer does, and reads them into the typed configuration
// the engine takes. What stays here needs JS: the Error a refused configuration throws, Node's
// warning for NODE_TLS_REJECT_UNAUTHORIZED=0, and `tls.checkServerIdentity`, which runs in JS.

const { X509Certificate } = require('node:crypto');
const native = require('../binding.js');
const { adopt } = require('./realm');

let warnedInsecureEnv = false;

/**
 * `createTransport(input)` resolved by Rust: `options` (the Mail's options: the input itself
 * unless a URL was parsed into it), `transportOptions` (those with the well-known service
 * merged in: `transporter.transporter.options`), the values JS sets itself up with (`mode`,
 * `pool`, `maxConnections`, `ignoredTls`, `tlsCa`, `customProxy`) and `settings` for
 * NativeTransport.
 * A URL or service nodemailer refuses throws a TypeError, as WHATWG's URL does
 * (`ERR_INVALID_URL`; the URL, which may hold a password, is not echoed).
 */
function resolveTransport(input) {
  let r;
  try {
    r = native.resolveTransport(input, process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0');
  } catch (err) {
    const message = String((err && err.message) || '').replace(/^[A-Z_]+: /, '');
    const e = new TypeError(message || 'Invalid URL');
    if (message === 'Invalid URL') e.code = 'ERR_INVALID_URL';
    throw e;
  }
  if (r.insecureEnv && !warnedInsecureEnv) {
    warnedInsecureEnv = true;
    process.emitWarning(
      "Setting the NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0' makes TLS connections and HTTPS requests insecure by disabling certificate verification."
    );
  }
  // the settings object is the addon's own (it must not be copied into this realm)
  const settings = r.settings;
  return {
    options: r.options === undefined ? input : adopt(r.options),
    transportOptions: adopt(r.transportOptions),
    mode: r.mode,
    pool: r.pool,
    maxConnections: r.maxConnections,
    ignoredTls: adopt(r.ignoredTls),
    tlsCa: adopt(r.tlsCa),
    customProxy: r.customProxy,
    settings,
  };
}

/** Certificates of the `tls.ca` PEM texts (each may hold several). */
function caCertificates(pems) {
  const out = [];
  for (const pem of pems) {
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
 * chain; answers with the reason to refuse (the message of the Error it returns or throws), or
 * null. `ca`: the `tls.ca` PEM texts as the configuration read them.
 */
function identityChecker(fn, ca) {
  const anchors = caCertificates(ca);
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

module.exports = { resolveTransport, identityChecker };
