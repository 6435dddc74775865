'use strict';
// `require('mailer-rs/lib/smtp-pool')`: nodemailer's SMTPPool, for `createTransport(new SMTPPool(options))`.
module.exports = require('../deep-imports').transportClass('SMTPPool', 'SMTP (pool)', { pool: true, streamTransport: false, jsonTransport: false });
