// `mailer-rs/lib/json-transport`: nodemailer's lib/json-transport (and @types/nodemailer's) layout.
import type * as root from '../../index.js';

/** `createTransport(new JSONTransport(options))` is `createTransport({ ...options, jsonTransport: true })`. */
declare class JSONTransport {
  constructor(options?: root.JSONTransportOptions);
  options: root.JSONTransportOptions;
  /** `'JSONTransport'`. */
  name: string;
  version: string;
  private readonly _transport: 'json';
}
declare namespace JSONTransport {
  type Options = root.JSONTransportOptions;
  type MailOptions = root.SendMailOptions;
  type SentMessageInfo = root.JSONSentMessageInfo;
  type JSONTransportOptions = root.JSONTransportOptions;
  type JSONSentMessageInfo = root.JSONSentMessageInfo;
}
export = JSONTransport;
