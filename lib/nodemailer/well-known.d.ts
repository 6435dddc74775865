// `mailer-rs/lib/well-known`: nodemailer's well-known service lookup, by name, alias or domain.
import type * as root from '../../index.js';

/** `{ host, port, secure, … }` of a service such as `'Gmail'` or `'gmail.com'`, or false. */
declare function wellKnown(key: string): (root.SMTPConnectionOptions & { description?: string | undefined }) | false;
export = wellKnown;
