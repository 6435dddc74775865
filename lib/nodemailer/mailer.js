'use strict';
// `require('mailer-rs/lib/mailer')`: the class of the objects createTransport returns, so
// `transporter instanceof Mail` holds as with nodemailer's lib/mailer. Build transporters with
// createTransport; the constructor's arguments are not nodemailer's.
const { Mail } = require('../mailer');

if (!Object.prototype.hasOwnProperty.call(Mail, 'default')) {
  Object.defineProperty(Mail, 'default', { value: Mail, enumerable: false, writable: true, configurable: true });
}
module.exports = Mail;
