'use strict';
// mailer-rs: nodemailer's API over a Rust SMTP engine. Change `require('nodemailer')` to
// `require('mailer-rs')` and keep the rest of the code.
const native = require('./binding.js');
const { Mail } = require('./lib/mailer');

const URL_RE = /^(smtps?|direct):/i;

/**
 * Creates a transporter, as nodemailer's `createTransport(options | url, defaults)`.
 */
function createTransport(transporter, defaults) {
  let options;
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

module.exports = { createTransport };
module.exports.default = module.exports;
