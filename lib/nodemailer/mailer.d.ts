// `mailer-rs/lib/mailer`: nodemailer's lib/mailer (and @types/nodemailer's) layout:
// `Mail.Options`, `Mail.Attachment`, `Mail.Address`, … and `Mail<T>` as the transporter type.
import type * as root from '../../index.js';

/** The class of the objects createTransport returns (`transporter instanceof Mail`). Build
 *  transporters with createTransport. */
interface Mail<T = root.SentMessageInfo, D extends root.TransportOptions = root.TransportOptions> extends root.Mail<T, D> {}
declare class Mail<T = root.SentMessageInfo, D extends root.TransportOptions = root.TransportOptions> {
  private constructor();
}
declare namespace Mail {
  type Options = root.SendMailOptions;
  type Address = root.Address;
  type Attachment = root.Attachment;
  type AttachmentLike = root.AttachmentLike;
  type AmpAttachment = root.AttachmentLike;
  type IcalAttachment = root.IcalAttachment;
  type Headers = root.Headers;
  type ListHeader = root.ListHeader;
  type ListHeaders = root.ListHeaders;
  type Envelope = root.EnvelopeInput;
  type TextEncoding = root.TextEncoding;
  type PluginFunction<T = root.SentMessageInfo> = root.PluginFunction<T>;
  // nodemailer 10's own names.
  type SendMailOptions = root.SendMailOptions;
  type MailDefaults = root.MailDefaults;
  type SentMessageInfo = root.SentMessageInfo;
  type SendMailCallback<T = root.SentMessageInfo> = root.SendMailCallback<T>;
  type VerifyCallback = root.VerifyCallback;
  type PluginCallback = root.PluginCallback;
  type MailMessage<T = root.SentMessageInfo> = root.MailMessage<T>;
  type TransportOptions = root.TransportOptions;
  type Transport<T = root.SentMessageInfo, D extends root.TransportOptions = root.TransportOptions> = root.Transport<T, D>;
}
export = Mail;
