// Mistakes the deep-import types must catch (an unused `@ts-expect-error` fails tsc, so these
// also prove the subpaths resolve to real types, not `any`).
import { createTransport } from 'mailer-rs';
import SMTPTransport from 'mailer-rs/lib/smtp-transport';
import SMTPPool from 'mailer-rs/lib/smtp-pool';
import StreamTransport from 'mailer-rs/lib/stream-transport';
import Mail from 'mailer-rs/lib/mailer';
import XOAuth2 from 'mailer-rs/lib/xoauth2';
import wellKnown from 'mailer-rs/lib/well-known';

// @ts-expect-error port is a number (or numeric string), not a boolean
const options: SMTPTransport.Options = { host: 'h', port: false };
// @ts-expect-error a typo in a pool option is caught
const poolOptions: SMTPPool.Options = { maxConection: 5 };
// @ts-expect-error an attachment's cid is a string
const attachment: Mail.Attachment = { filename: 'a', cid: 1 };
// @ts-expect-error message options have no `tos`
const mail: Mail.Options = { tos: 'a@example.com' };
// @ts-expect-error transporters come from createTransport (nodemailer's Mail constructor is not offered)
new Mail();
// @ts-expect-error lib/xoauth2 has types only: no XOAuth2 class at run time
new XOAuth2({ user: 'u' });
// @ts-expect-error an SMTP transport's results have no `message` stream
const streamed: Mail<StreamTransport.SentMessageInfo> = createTransport(new SMTPTransport(options));
// @ts-expect-error wellKnown returns false for an unknown service
const host: string = wellKnown('x').host;
// @ts-expect-error nodemailer's lib/base64 is not part of mailer-rs
import { encode } from 'mailer-rs/lib/base64';

export { poolOptions, attachment, mail, streamed, host, encode };
