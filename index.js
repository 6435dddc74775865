'use strict';
// mailer-rs: nodemailer's API over a Rust SMTP engine. Change `require('nodemailer')` to
// `require('mailer-rs')` and keep the rest of the code.
const native = require('./binding.js');
const { Mail } = require('./lib/mailer');
const { TransportOptionsHolder } = require('./lib/deep-imports');
const ethereal = require('./lib/ethereal');

const URL_RE = /^(smtps?|direct):/i;

/**
 * Creates a transporter, as nodemailer's `createTransport(options | url, defaults)`.
 */
function createTransport(transporter, defaults) {
  let options;
  // `createTransport(new SMTPPool(options))` with a class from `mailer-rs/lib/smtp-pool` etc.
  if (transporter instanceof TransportOptionsHolder) transporter = transporter.toTransportOptions();
  if (typeof transporter === 'string' && URL_RE.test(transporter)) {
    options = parseUrl(transporter);
  } else if (transporter && typeof transporter === 'object' && typeof transporter.send === 'function') {
    throw Object.assign(new Error('Custom transport objects are not supported by mailer-rs yet'), { code: 'ECONFIG' });
  } else if (transporter && typeof transporter === 'object' && transporter.url) {
    // As nodemailer 10: the other keys are kept and the URL's values win.
    options = Object.assign({}, transporter, parseUrl(String(transporter.url)));
    delete options.url;
  } else if (transporter === undefined || transporter === null || typeof transporter === 'object') {
    options = transporter || {};
  } else {
    throw Object.assign(new TypeError('createTransport expects an options object or an smtp(s):// URL'), { code: 'ECONFIG' });
  }
  // nodemailer looks the name up with `service.toLowerCase()`: anything but a string throws
  if (options.service && typeof options.service !== 'string') {
    throw new TypeError('The "service" option must be a string');
  }
  return new Mail(options, defaults);
}

/**
 * The URL's options. A URL nodemailer cannot parse throws a TypeError as WHATWG's does
 * (`ERR_INVALID_URL`; the URL, which may hold a password, is not echoed).
 */
function parseUrl(url) {
  try {
    return native.parseConnectionUrl(url);
  } catch (err) {
    const message = String((err && err.message) || '').replace(/^[A-Z_]+: /, '');
    const e = new TypeError(message || 'Invalid URL');
    if (message === 'Invalid URL') e.code = 'ERR_INVALID_URL';
    throw e;
  }
}

/**
 * nodemailer's `getTestMessageUrl(info)`: the Ethereal web URL of a message sent through
 * Ethereal (read from the `[STATUS=… MSGID=…]` tail of `info.response`), or false.
 */
function getTestMessageUrl(info) {
  const response = info && info.response ? String(info.response) : '';
  if (!response.endsWith(']')) return false;
  // The last "[...]" group, found by scanning rather than a backtracking regex (server-controlled text).
  const close = response.length - 1;
  const open = response.lastIndexOf('[', close);
  if (open < 0 || response.indexOf(']', open) !== close) return false;
  const props = new Map();
  for (const m of response.slice(open + 1, close).matchAll(/\b([A-Z0-9]+)=(\S+)/g)) props.set(m[1], m[2]);
  if (!props.has('STATUS') || !props.has('MSGID')) return false;
  return `${ethereal.webUrl()}/message/${props.get('MSGID')}`;
}

module.exports = { createTransport, createTestAccount: ethereal.createTestAccount, getTestMessageUrl };
module.exports.default = module.exports;
