'use strict';
// `require('mailer-rs/lib/ses-transport')`: nodemailer's SESTransport, for `createTransport(new SESTransport({ SES: { sesClient, SendEmailCommand } }))`.
module.exports = require('../deep-imports').transportClass('SESTransport', 'SESTransport', {});
