// Type names nodemailer (and @types/nodemailer) users write, resolved against mailer-rs.
import nodemailer from 'mailer-rs';
import * as nm from 'mailer-rs';
import type {
  Transporter, SendMailOptions, SentMessageInfo, TransportOptions, SMTPTransportOptions, SMTPSentMessageInfo,
  SMTPTransport, Mail, Attachment, Address, XOAuth2Options, XOAuth2Token, MailDefaults,
} from 'mailer-rs';

// @types/nodemailer style: the default import doubles as a namespace of types.
const t1: nodemailer.Transporter = nodemailer.createTransport({ host: 'h' });
const t2: Transporter<SMTPTransport.SentMessageInfo> = nodemailer.createTransport({ host: 'h' });
const t3: Transporter<SMTPSentMessageInfo, SMTPTransportOptions> = nm.createTransport('smtp://h:25');
const t4: nodemailer.Transporter<nodemailer.SMTPSentMessageInfo> = nm.default.createTransport({});

const smtpOptions: SMTPTransport.Options = { host: 'smtp.example.com', port: '587', requireTLS: true, name: 'client.example.com' };
const options: Mail.Options = { from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' };
const options2: SendMailOptions = options;
const options3: nodemailer.SendMailOptions = options2;
const attachment: Mail.Attachment = { filename: 'a.txt', content: 'x', contentType: 'text/plain' };
const attachments: Attachment[] = [attachment];
const address: Address = { name: 'A', address: 'a@example.com' };
const mailAddress: Mail.Address = address;
const oauth: XOAuth2Options = { user: 'u', clientId: 'c', clientSecret: 's', refreshToken: 'r' };
const transportOptions: TransportOptions = { logger: false, disableFileAccess: true };
const defaults: MailDefaults = { from: address };
const token: XOAuth2Token = { user: 'u', accessToken: 'a', expires: 0 };

async function run(): Promise<SentMessageInfo> {
  const info = await t2.sendMail({ ...options3, attachments, from: mailAddress });
  return info;
}

export { t1, t3, t4, smtpOptions, oauth, transportOptions, defaults, token, run };
