'use strict';
// `require('mailer-rs/lib/json-transport')`: nodemailer's JSONTransport, for `createTransport(new JSONTransport(options))`.
module.exports = require('../deep-imports').transportClass('JSONTransport', 'JSONTransport', { jsonTransport: true, streamTransport: false });
