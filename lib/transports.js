'use strict';
// The sendmail and SES transports next to the SMTP, stream and JSON ones (which one an options
// object selects is resolved with the options, crates/config): their names, and the calls that
// differ.
const { sendmailSend } = require('./sendmail');
const { sesSend, sesVerify } = require('./ses');

const NAMES = { sendmail: 'Sendmail', ses: 'SESTransport' };
const COMPONENTS = { sendmail: 'sendmail', ses: 'ses-transport' };

/** Sends one prepared message through `kind`; resolves with nodemailer's info. */
function sendOther(kind, mailer, mail, buffers, dkim) {
  return kind === 'ses' ? sesSend(mailer, mail, buffers, dkim) : sendmailSend(mailer, mail, buffers, dkim);
}

/**
 * verify() of these transports: SES sends a probe message; sendmail has no verify, so, as
 * nodemailer's Mail does for a transport without one, a warning and `false`.
 */
function verifyOther(kind, mailer, callback) {
  if (kind === 'ses') {
    const p = sesVerify(mailer);
    if (typeof callback !== 'function') return p;
    p.then(
      (ok) => process.nextTick(callback, null, ok),
      (err) => process.nextTick(callback, err)
    );
    return undefined;
  }
  if (mailer.logger) mailer.logger.warn({ tnx: 'transport', methodName: 'verify' }, 'Non existing method %s called for transport', 'verify');
  return false;
}

module.exports = { sendOther, verifyOther, NAMES, COMPONENTS };
