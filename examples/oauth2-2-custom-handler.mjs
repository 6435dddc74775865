// nodemailer's OAuth2 example 2, "Custom handler": tokens come from your own code through
// `oauth2_provision_cb`; mailer-rs never calls a token endpoint. Run: node examples/oauth2-2-custom-handler.mjs
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';

const userTokens = { 'user@example.com': 'ya29.token-from-your-own-store' };
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
      user: 'user@example.com',
    },
  });

  transporter.set('oauth2_provision_cb', (user, renew, callback) => {
    console.log('provision callback: user=%s renew=%s', user, renew);
    let accessToken = userTokens[user];
    if (!accessToken) {
      return callback(new Error('Unknown user'));
    } else {
      return callback(null, accessToken);
    }
  });
  // ---
  const info = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Message', text: 'I hope this message gets through!' });
  console.log('sent %s: %s', info.messageId, info.response);

  // A user the callback does not know: its error fails the send.
  const other = nodemailer.createTransport({ host: 'localhost', port: server.port, secure: true, tls: { ca: CERTS.ca }, auth: { type: 'OAuth2', user: 'nobody@example.com' } });
  other.set('oauth2_provision_cb', (user, renew, callback) => callback(userTokens[user] ? null : new Error('Unknown user'), userTokens[user]));
  await other.sendMail({ from: 'nobody@example.com', to: 'recipient@example.com', text: 'x' }).catch((err) => {
    console.log('unknown user: code=%s message=%s', err.code, err.message);
  });
} finally {
  await server.close();
}
