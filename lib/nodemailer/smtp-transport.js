'use strict';
// `require('mailer-rs/lib/smtp-transport')`: nodemailer's SMTPTransport, for `createTransport(new SMTPTransport(options))`.
module.exports = require('../deep-imports').transportClass('SMTPTransport', 'SMTP', { pool: false, streamTransport: false, jsonTransport: false });
