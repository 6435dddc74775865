// nodemailer's OAuth2 example 1, "Authenticate using existing token": the access token is used
// as is; nothing can renew it. Run: node examples/oauth2-1-existing-token.mjs
// A loopback SMTP server (implicit TLS, XOAUTH2) stands in for smtp.gmail.com:465.
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';

const ACCESS_TOKEN = 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x';
const server = await startSmtpServer({ secure: true, xoauth2: true, validTokens: new Set([ACCESS_TOKEN]) });
try {
  // --- nodemailer's documentation code; host/port point at the loopback server ---
  let transporter = nodemailer.createTransport({
    host: 'localhost', // was: "smtp.gmail.com"
    port: server.port, // was: 465
    secure: true,
    tls: { ca: CERTS.ca }, // the loopback server's certificate is signed by the test CA
    auth: {
      type: 'OAuth2',
      user: 'user@example.com',
      accessToken: ACCESS_TOKEN,
    },
  });
  // ---
  const info = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Message', text: 'I hope this message gets through!' });
  console.log('sent %s: %s', info.messageId, info.response);
  console.log('server: AUTH XOAUTH2 as %s (%s)', server.authAttempts[0].username, server.authAttempts[0].ok ? 'accepted' : 'rejected');

  // The same token, revoked: the send fails with EAUTH, as in nodemailer (no way to renew it).
  server.validTokens.clear();
  try {
    await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', text: 'again' });
  } catch (err) {
    console.log('after revocation: code=%s command=%s responseCode=%s', err.code, err.command, err.responseCode);
  }
} finally {
  await server.close();
}
