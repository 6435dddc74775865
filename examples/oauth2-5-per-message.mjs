// nodemailer's OAuth2 example 5, "Provide authentication details with message options": one
// transporter with only the client credentials; each message carries its user's tokens.
// Run: node examples/oauth2-5-per-message.mjs
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';
import { startMockOAuth } from '../__test__/helpers/oauth.mjs';

const oauth = await startMockOAuth();
const server = await startSmtpServer({ secure: true, xoauth2: true, validTokens: oauth.issuedTokens });
try {
  // --- nodemailer's documentation code; host/port/accessUrl point at the loopback servers ---
  let transporter = nodemailer.createTransport({
    host: 'localhost', // was: "smtp.gmail.com"
    port: server.port, // was: 465
    secure: true,
    tls: { ca: CERTS.ca },
    auth: {
      type: 'OAuth2',
      clientId: '000000000000-xxx.apps.googleusercontent.com',
      clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
      accessUrl: oauth.tokenUrl, // default: Google's endpoint
    },
  });

  const info = await transporter.sendMail({
    from: 'sender@example.com',
    to: 'recipient@example.com',
    subject: 'Message',
    text: 'I hope this message gets through!',
    auth: {
      user: 'user@example.com',
      refreshToken: '1/XXxXxsss-xxxXXXXXxXxx0XXXxxXXx0x00xxx',
      accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
      expires: 1484314697598,
    },
  });
  // ---
  console.log('sent %s: %s', info.messageId, info.response);
  console.log('server authenticated %s; token requests: %d', server.authAttempts.filter((a) => a.ok).map((a) => a.username).join(', '), oauth.tokenRequests.length);
} finally {
  await server.close();
  await oauth.close();
}
