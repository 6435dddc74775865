// `mailer-rs/lib/ses-transport`: nodemailer's lib/ses-transport (and @types/nodemailer's) layout.
import type * as root from '../../index.js';

/** `createTransport(new SESTransport(options))` is `createTransport(options)` with `options.SES`. */
declare class SESTransport {
  constructor(options: root.SESTransportOptions);
  options: root.SESTransportOptions;
  /** `'SESTransport'`. */
  name: string;
  version: string;
  private readonly _transport: 'ses';
}
declare namespace SESTransport {
  type Options = root.SESTransportOptions;
  type MailOptions = root.SendMailOptions;
  type SentMessageInfo = root.SESSentMessageInfo;
}
export = SESTransport;
