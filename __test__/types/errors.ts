// Error handling as nodemailer users write it: err.code / response / responseCode / command.
import { createTransport } from 'mailer-rs';
import type { NodemailerError, ErrorCode } from 'mailer-rs';

const transporter = createTransport({ host: 'smtp.example.com', port: 587, auth: { user: 'u', pass: 'p', method: 'LOGIN' } });

async function send(): Promise<string> {
  try {
    const info = await transporter.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' });
    for (const e of info.rejectedErrors ?? []) console.warn(e.recipient, e.responseCode);
    return info.response;
  } catch (e) {
    const err = e as NodemailerError;
    if (err.code === 'EAUTH' && err.command === 'AUTH XOAUTH2') return 'token problem: ' + err.message;
    if (err.code === 'EENVELOPE') return `rejected ${(err.rejected ?? []).join(',')}: ${err.rejectedErrors?.length ?? 0}`;
    if (err.responseCode !== undefined && err.responseCode >= 500) return `permanent ${err.responseCode} ${err.response ?? ''}`;
    if (err.code === 'ESOCKET' || err.code === 'ETIMEDOUT' || err.code === 'ECONNECTION') return `retry later (${err.command ?? ''})`;
    throw err;
  }
}

transporter.sendMail({ to: 'b@example.com', text: 'hi' }, (err) => {
  if (err) {
    const code: string | undefined = err.code;
    const rc: number | undefined = err.responseCode;
    console.log(code, rc, err.response, err.command, err.errno, err.syscall);
  }
});

transporter.on('error', (err) => console.error(err.code, err.message));

const known: ErrorCode[] = ['EAUTH', 'EENVELOPE', 'EMESSAGE', 'ESOCKET', 'ETIMEDOUT', 'ECONNECTION', 'ECONFIG', 'EOAUTH2'];
void known;
void send();
