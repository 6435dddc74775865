// `mailer-rs/lib/smtp-transport`: nodemailer's lib/smtp-transport (and @types/nodemailer's)
// layout, so `import SMTPTransport from 'nodemailer/lib/smtp-transport'` only changes its module name.
import type * as root from '../../index.js';

/** `createTransport(new SMTPTransport(options))` is `createTransport(options)`. */
declare class SMTPTransport {
  constructor(options?: root.SMTPTransportOptions | string);
  /** The options as given (a URL string becomes `{ url }`). */
  options: root.SMTPTransportOptions;
  /** `'SMTP'`. */
  name: string;
  version: string;
  private readonly _transport: 'smtp';
}
declare namespace SMTPTransport {
  type Options = root.SMTPTransportOptions;
  type MailOptions = root.SendMailOptions;
  type SentMessageInfo = root.SMTPSentMessageInfo;
  type AuthenticationType = root.SMTPTransportAuthOptions;
  type AuthenticationTypeLogin = root.SMTPTransportAuthOptions;
  type AuthenticationTypeOAuth2 = root.SMTPTransportAuthOptions;
  // nodemailer 10's own names for the same types.
  type SMTPTransportOptions = root.SMTPTransportOptions;
  type SMTPSentMessageInfo = root.SMTPSentMessageInfo;
  type SMTPTransportAuthOptions = root.SMTPTransportAuthOptions;
}
export = SMTPTransport;
