// `mailer-rs/lib/stream-transport`: nodemailer's lib/stream-transport (and @types/nodemailer's) layout.
import type * as root from '../../index.js';

/** `createTransport(new StreamTransport(options))` is `createTransport({ ...options, streamTransport: true })`. */
declare class StreamTransport {
  constructor(options?: root.StreamTransportOptions);
  options: root.StreamTransportOptions;
  /** `'StreamTransport'`. */
  name: string;
  version: string;
  private readonly _transport: 'stream';
}
declare namespace StreamTransport {
  type Options = root.StreamTransportOptions;
  type MailOptions = root.SendMailOptions;
  type SentMessageInfo = root.StreamSentMessageInfo;
  type StreamTransportOptions = root.StreamTransportOptions;
  type StreamSentMessageInfo = root.StreamSentMessageInfo;
}
export = StreamTransport;
