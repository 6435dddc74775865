'use strict';
// `require('mailer-rs/lib/stream-transport')`: nodemailer's StreamTransport, for `createTransport(new StreamTransport(options))`.
module.exports = require('../deep-imports').transportClass('StreamTransport', 'StreamTransport', { streamTransport: true, jsonTransport: false });
