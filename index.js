'use strict';
// mailer-rs: nodemailer's API over a Rust SMTP engine. Change `require('nodemailer')` to
// `require('mailer-rs')` and keep the rest of the code.
const native = require('./binding.js');
const { Mail } = require('./lib/mailer');
const { TransportOptionsHolder } = require('./lib/deep-imports');

const URL_RE = /^(smtps?|direct):/i;

/**
 * Creates a transporter, as nodemailer's `createTransport(options | url, defaults)`.
 */
function createTransport(transporter, defaults) {
  let options;
  // `createTransport(new SMTPPool(options))` with a class from `mailer-rs/lib/smtp-pool` etc.
  if (transporter instanceof TransportOptionsHolder) transporter = transporter.toTransportOptions();
  if (typeof transporter === 'string' && URL_RE.test(transporter)) {
    options = native.parseConnectionUrl(transporter);
  } else if (transporter && typeof transporter === 'object' && typeof transporter.send === 'function') {
    throw Object.assign(new Error('Custom transport objects are not supported by mailer-rs yet'), { code: 'ECONFIG' });
  } else if (transporter && typeof transporter === 'object' && transporter.url) {
    // As nodemailer 10: the other keys are kept and the URL's values win.
    options = Object.assign({}, transporter, native.parseConnectionUrl(String(transporter.url)));
    delete options.url;
  } else if (transporter === undefined || transporter === null || typeof transporter === 'object') {
    options = transporter || {};
  } else {
    throw Object.assign(new TypeError('createTransport expects an options object or an smtp(s):// URL'), { code: 'ECONFIG' });
  }
  for (const key of ['sendmail', 'SES']) {
    if (options[key]) {
      throw Object.assign(new Error(`The ${key} transport is not supported by mailer-rs`), { code: 'ECONFIG' });
    }
  }
  return new Mail(options, defaults);
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
  return `${(process.env.ETHEREAL_WEB || 'https://ethereal.email').replace(/\/+$/, '')}/message/${props.get('MSGID')}`;
}

module.exports = { createTransport, getTestMessageUrl };
module.exports.default = module.exports;
