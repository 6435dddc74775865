// `mailer-rs/lib/smtp-pool`: nodemailer's lib/smtp-pool (and @types/nodemailer's) layout.
import type * as root from '../../index.js';

/** `createTransport(new SMTPPool(options))` is `createTransport({ ...options, pool: true })`. */
declare class SMTPPool {
  constructor(options?: root.SMTPPoolOptions | string);
  /** The options as given (a URL string becomes `{ url }`). */
  options: root.SMTPPoolOptions;
  /** `'SMTP (pool)'`. */
  name: string;
  version: string;
  private readonly _transport: 'pool';
}
declare namespace SMTPPool {
  type Options = root.SMTPPoolOptions;
  type MailOptions = root.SendMailOptions;
  type SentMessageInfo = root.SMTPPoolSentMessageInfo;
  type SMTPPoolOptions = root.SMTPPoolOptions;
  type SMTPPoolSentMessageInfo = root.SMTPPoolSentMessageInfo;
}
export = SMTPPool;
