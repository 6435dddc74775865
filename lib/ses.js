'use strict';
// nodemailer's SES transport (lib/ses-transport/index.js) in its SESv2 shape: the user passes
// `SES: { sesClient, SendEmailCommand }` from @aws-sdk/client-sesv2. The raw message is composed
// (and DKIM-signed) in Rust; this file only hands its bytes to the user's client, which must be
// JavaScript, and builds nodemailer's `info` from the answer.
const native = require('../binding.js');
const { recipientsText } = require('./sendmail');
const { settled } = require('./realm');
const { composeOptions } = require('./message');

const ECONFIG = 'ECONFIG';

/** nodemailer's configuration errors, thrown by createTransport. */
function checkSesOptions(options) {
  const ses = options.SES;
  if (ses && ses.ses && ses.aws) {
    throw Object.assign(
      new Error('Using legacy SES configuration, expecting @aws-sdk/client-sesv2, see https://nodemailer.com/transports/ses/'),
      { code: ECONFIG }
    );
  }
  if (!ses || !ses.sesClient) {
    throw Object.assign(
      new Error('Missing SES configuration, expecting { sesClient, SendEmailCommand } from @aws-sdk/client-sesv2, see https://nodemailer.com/transports/ses/'),
      { code: ECONFIG }
    );
  }
}

/** AWS SDK v3 errors have a `name` and no `code`: they get ESES, the object kept as it is. */
function tagSesError(err) {
  if (err && typeof err === 'object' && !err.code) err.code = 'ESES';
  return err;
}

/** The client's region (its provider resolved), or false; an error counts as none. */
async function getRegion(client) {
  if (client.config && typeof client.config.region === 'function') {
    try {
      return await client.config.region();
    } catch {
      return false;
    }
  }
  return false;
}

// Own keys only: `ses` is caller-supplied message data.
function copyOwnKeys(target, source) {
  for (const key of Object.keys(source || {})) if (key !== '__proto__') target[key] = source[key];
  return target;
}

/** Sends one prepared message through the user's SESv2 client; resolves with nodemailer's info. */
async function sesSend(mailer, mail, buffers, dkim) {
  const o = mailer.transporter.options;
  const ses = o.SES;
  const logger = mailer.logger;
  // the message's `ses` keys go into the SendEmail request, not into the message
  const extra = mail.ses;
  delete mail.ses;
  const options = composeOptions(o, mail, {
    // SES sets its own Date and Message-ID, so they are left out of the signature, unless the
    // DKIM options choose (nodemailer: the transport's DKIM options win over the skip list)
    dkim: dkim ? Object.assign({ skipFields: 'date:message-id' }, dkim) : undefined,
  });
  let out;
  try {
    out = await settled(native.composeRaw(mail, buffers, options));
  } catch (err) {
    if (logger) logger.error({ err, tnx: 'send' }, 'Failed creating message. %s', err.message);
    throw err;
  }
  const { envelope, messageId } = out;
  const raw = out.message;
  if (logger) logger.info({ tnx: 'send', messageId }, 'Sending message %s to <%s>', messageId, recipientsText(envelope.to));
  const sesMessage = copyOwnKeys(
    {
      Content: { Raw: { Data: raw } },
      FromEmailAddress: out.from || envelope.from,
      Destination: { ToAddresses: envelope.to },
    },
    extra
  );
  let region = (await getRegion(ses.sesClient)) || 'us-east-1';
  let data;
  try {
    data = await ses.sesClient.send(new ses.SendEmailCommand(sesMessage));
  } catch (err) {
    tagSesError(err);
    if (logger) logger.error({ err, tnx: 'send' }, 'Send error for %s: %s', messageId, err && err.message);
    throw err;
  }
  if (region === 'us-east-1') region = 'email';
  const id = data && data.MessageId;
  return {
    envelope: { from: envelope.from, to: envelope.to },
    messageId: '<' + id + (!/@/.test(id) ? '@' + region + '.amazonses.com' : '') + '>',
    response: id,
    raw,
  };
}

/**
 * nodemailer's SES verify: a SendEmail of an invalid message; SES refusing it as invalid
 * (InvalidParameterValue, MessageRejected) proves the client and credentials work.
 */
async function sesVerify(mailer) {
  const ses = mailer.transporter.options.SES;
  const sesMessage = {
    Content: { Raw: { Data: Buffer.from('From: <invalid@invalid>\r\nTo: <invalid@invalid>\r\n Subject: Invalid\r\n\r\nInvalid') } },
    FromEmailAddress: 'invalid@invalid',
    Destination: { ToAddresses: ['invalid@invalid'] },
  };
  await getRegion(ses.sesClient);
  try {
    await ses.sesClient.send(new ses.SendEmailCommand(sesMessage));
  } catch (err) {
    if (!['InvalidParameterValue', 'MessageRejected'].includes(err && (err.code || err.Code || err.name))) throw tagSesError(err);
  }
  return true;
}

module.exports = { checkSesOptions, sesSend, sesVerify };
