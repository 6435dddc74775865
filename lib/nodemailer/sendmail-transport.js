'use strict';
// `require('mailer-rs/lib/sendmail-transport')`: nodemailer's SendmailTransport, for `createTransport(new SendmailTransport(options))`.
module.exports = require('../deep-imports').transportClass('SendmailTransport', 'Sendmail', { sendmail: true });
