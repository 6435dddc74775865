'use strict';
// nodemailer's sendmail transport (lib/sendmail-transport/index.js). Rust composes the message
// and streams it into the binary's stdin (crates/sendmail): the arguments, the refusal of
// addresses that read as options and the exit/spawn errors are all there. This file only turns
// the transport options into what Rust reads and the result into nodemailer's `info`.
const native = require('../binding.js');
const { settled } = require('./realm');
const { composeOptions } = require('./message');

/** What the Rust side reads of the transport options, as nodemailer's SendmailTransport does. */
function sendmailOptions(o) {
  return {
    // nodemailer: `path` when set (truthy), else `sendmail` from PATH
    path: o.path ? String(o.path) : undefined,
    // only an array replaces `-f <from>`
    args: Array.isArray(o.args) ? o.args.map(String) : undefined,
    // any truthy value rewrites line endings: windows forms to CRLF, every other to LF
    newline: o.newline ? String(o.newline) : undefined,
  };
}

function recipientsText(to) {
  const list = [].concat(to || []);
  if (list.length > 3) list.push('...and ' + list.splice(2).length + ' more');
  return list.join(', ');
}

/**
 * Sends one prepared message through sendmail; resolves with nodemailer's info
 * `{ envelope, messageId, response: 'Messages queued for delivery' }`.
 */
async function sendmailSend(mailer, mail, buffers, dkim) {
  const o = mailer.transporter.options;
  // sendmail strips the Bcc header itself, as nodemailer relies on
  const options = composeOptions(o, mail, Object.assign(sendmailOptions(o), { dkim, keepBcc: true }));
  let out;
  try {
    out = await settled(native.sendmailSend(mail, buffers, options));
  } catch (err) {
    if (mailer.logger) mailer.logger.error({ err, tnx: 'stdin' }, 'Error sending message to sendmail. %s', err.message);
    throw err;
  }
  if (mailer.logger) {
    mailer.logger.info({ tnx: 'send', messageId: out.messageId }, 'Sent message %s to <%s>', out.messageId, recipientsText(out.envelope.to));
  }
  return { envelope: out.envelope, messageId: out.messageId, response: 'Messages queued for delivery' };
}

module.exports = { sendmailSend, sendmailOptions, recipientsText };
