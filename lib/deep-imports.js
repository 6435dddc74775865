'use strict';
// The transport classes of `mailer-rs/lib/smtp-transport`, `lib/smtp-pool`, `lib/stream-transport`
// and `lib/json-transport`. nodemailer's code passes an instance to createTransport
// (`createTransport(new SMTPPool(options))`); here an instance only carries its options, and
// createTransport builds the matching transporter from them.
const { version } = require('../package.json');

class TransportOptionsHolder {
  constructor(options) {
    this.options = typeof options === 'string' ? { url: options } : Object.assign({}, options);
    this.version = `${version}[client:${version}]`;
  }

  /** The createTransport options this instance stands for. */
  toTransportOptions() {
    return Object.assign({}, this.options, this.constructor.forced);
  }
}

/** A subclass per nodemailer transport: `forced` are the keys that select it in createTransport. */
function transportClass(className, transportName, forced) {
  const cls = {
    [className]: class extends TransportOptionsHolder {
      constructor(options) {
        super(options);
        this.name = transportName;
      }
    },
  }[className];
  cls.forced = Object.freeze(forced);
  // `import X from` compiled to CommonJS without esModuleInterop reads `.default`.
  Object.defineProperty(cls, 'default', { value: cls, enumerable: false, writable: true, configurable: true });
  return cls;
}

/** Loading a nodemailer module mailer-rs only has types for fails here, not later with an undefined. */
function typesOnly(name) {
  const err = new Error(
    `mailer-rs/lib/${name} has TypeScript types only: mailer-rs does not implement nodemailer's lib/${name} module at run time ` +
      '(import its types with `import type`; see docs/migration.md)'
  );
  err.code = 'ECONFIG';
  throw err;
}

module.exports = { TransportOptionsHolder, transportClass, typesOnly };
