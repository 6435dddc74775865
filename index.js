'use strict';
// mailer-rs: nodemailer's API over a Rust SMTP engine. Change `require('nodemailer')` to
// `require('mailer-rs')` and keep the rest of the code.
const { Mail } = require('./lib/mailer');
const { TransportOptionsHolder } = require('./lib/deep-imports');
const ethereal = require('./lib/ethereal');

const URL_RE = /^(smtps?|direct):/i;

/**
 * Creates a transporter, as nodemailer's `createTransport(options | url, defaults)`. The
 * options are resolved (URL, well-known service, merge) by the Mail constructor, in one call
 * into Rust (lib/options.js).
 */
function createTransport(transporter, defaults) {
  // `createTransport(new SMTPPool(options))` with a class from `mailer-rs/lib/smtp-pool` etc.
  if (transporter instanceof TransportOptionsHolder) transporter = transporter.toTransportOptions();
  if (transporter && typeof transporter === 'object' && typeof transporter.send === 'function') {
    throw Object.assign(new Error('Custom transport objects are not supported by mailer-rs yet'), { code: 'ECONFIG' });
  }
  const url = typeof transporter === 'string' && URL_RE.test(transporter);
  if (!url && transporter !== undefined && transporter !== null && typeof transporter !== 'object') {
    throw Object.assign(new TypeError('createTransport expects an options object or an smtp(s):// URL'), { code: 'ECONFIG' });
  }
  return new Mail(transporter, defaults);
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
