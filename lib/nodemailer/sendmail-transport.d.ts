// `mailer-rs/lib/sendmail-transport`: nodemailer's lib/sendmail-transport (and @types/nodemailer's) layout.
import type * as root from '../../index.js';

/** `createTransport(new SendmailTransport(options))` is `createTransport({ ...options, sendmail: true })`. */
declare class SendmailTransport {
  constructor(options?: root.SendmailTransportOptions);
  options: root.SendmailTransportOptions;
  /** `'Sendmail'`. */
  name: string;
  version: string;
  private readonly _transport: 'sendmail';
}
declare namespace SendmailTransport {
  type Options = root.SendmailTransportOptions;
  type MailOptions = root.SendMailOptions;
  type SentMessageInfo = root.SendmailSentMessageInfo;
}
export = SendmailTransport;
