'use strict';
// `require('mailer-rs/lib/well-known')`: nodemailer's well-known service lookup, by name, alias or
// domain (`'Gmail'`, `'gmail.com'`), from the engine's copy of the service table.
const native = require('../../binding.js');
const { adopt } = require('../realm');

function wellKnown(key) {
  return adopt(native.wellKnown(String(key))) || false;
}
Object.defineProperty(wellKnown, 'default', { value: wellKnown, enumerable: false, writable: true, configurable: true });
module.exports = wellKnown;
