// The sendmail and SES transports and createTestAccount, typed as nodemailer's own types
// (@types/nodemailer layout) type them, with the real @aws-sdk/client-sesv2 client.
import nodemailer, { createTransport, createTestAccount } from 'mailer-rs';
import type { SendmailTransport, SESTransport, TestAccount, SendmailSentMessageInfo, SESSentMessageInfo, Transporter } from 'mailer-rs';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';

const sendmailOptions: SendmailTransport.Options = { sendmail: true, path: '/usr/sbin/sendmail', args: ['-t'], newline: 'unix' };
const sendmail: Transporter<SendmailTransport.SentMessageInfo> = createTransport({ sendmail: true, path: '/usr/sbin/sendmail', newline: 'windows' });
const sendmail2 = nodemailer.createTransport(sendmailOptions as SendmailTransport.Options & { sendmail: true });

const sesClient = new SESv2Client({ region: 'eu-west-1' });
const ses = createTransport({ SES: { sesClient, SendEmailCommand } });
const sesOptions: SESTransport.Options = { SES: { sesClient, SendEmailCommand } };
const tags: SESTransport.MailSesOptions = { ConfigurationSetName: 'set', EmailTags: [{ Name: 'n', Value: 'v' }] };

async function send(): Promise<void> {
  const a: SendmailSentMessageInfo = await sendmail.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
  const response: string = a.response;
  const b = await sendmail2.sendMail({ to: 'b@example.com' });
  const id: string = b.messageId;
  const c: SESSentMessageInfo = await ses.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', ses: tags });
  const raw: Buffer = c.raw;
  const sesId: string = c.response;
  const ok: true = await ses.verify();
  ses.sendMail({ to: 'b@example.com' }, (err, info) => {
    if (err) console.log(err.code);
    else console.log(info.raw.length, info.envelope.to);
  });
  void response; void id; void raw; void sesId; void ok; void sesOptions;
}

async function account(): Promise<void> {
  const acc: TestAccount = await createTestAccount();
  const acc2 = await nodemailer.createTestAccount('http://127.0.0.1:8080');
  createTestAccount((err, a) => console.log(err && err.message, a.user));
  createTestAccount('http://127.0.0.1:8080', (err, a) => console.log(err, a.smtp.host, a.smtp.port, a.smtp.secure));
  const t = createTransport({ host: acc.smtp.host, port: acc.smtp.port, secure: acc.smtp.secure, auth: { user: acc.user, pass: acc2.pass } });
  const url: string | false = nodemailer.getTestMessageUrl(await t.sendMail({ to: 'b@example.com' }));
  void url;
}
void send; void account;
