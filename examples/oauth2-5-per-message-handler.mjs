// nodemailer's OAuth2 example 5, second form: per-message `auth: { user }` with your own token
// handler (`oauth2_provision_cb`) instead of refresh tokens. Run: node examples/oauth2-5-per-message-handler.mjs
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';

const userTokens = { 'user@example.com': 'ya29.token-of-user', 'other@example.com': 'ya29.token-of-other' };
const server = await startSmtpServer({ secure: true, xoauth2: true, validTokens: new Set(Object.values(userTokens)) });
try {
  // --- nodemailer's documentation code; host/port point at the loopback server ---
  let transporter = nodemailer.createTransport({
    host: 'localhost', // was: "smtp.gmail.com"
    port: server.port, // was: 465
    secure: true,
    tls: { ca: CERTS.ca },
    auth: {
      type: 'OAuth2',
    },
  });

  transporter.set('oauth2_provision_cb', (user, renew, callback) => {
    let accessToken = userTokens[user];
    if (!accessToken) {
      return callback(new Error('Unknown user'));
    } else {
      return callback(null, accessToken);
    }
  });

  const info = await transporter.sendMail({
    from: 'sender@example.com',
    to: 'recipient@example.com',
    subject: 'Message',
    text: 'I hope this message gets through!',
    auth: {
      user: 'user@example.com',
    },
  });
  // ---
  console.log('sent %s: %s', info.messageId, info.response);
  const info2 = await transporter.sendMail({ from: 'other@example.com', to: 'recipient@example.com', subject: 'Message', text: 'Another user', auth: { user: 'other@example.com' } });
  console.log('sent %s: %s', info2.messageId, info2.response);
  console.log('server authenticated: %s', server.authAttempts.filter((a) => a.ok).map((a) => a.username).join(', '));
} finally {
  await server.close();
}
