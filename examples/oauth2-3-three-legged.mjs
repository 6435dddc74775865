// nodemailer's OAuth2 example 3, "Set up 3LO authentication": the access token has expired, so
// mailer-rs refreshes it with the refresh token, emits 'token', then sends.
// A loopback OAuth2 server (oauth2-mock-server) stands in for Google's token endpoint.
// Run: node examples/oauth2-3-three-legged.mjs
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
      user: 'user@example.com',
      clientId: '000000000000-xxx0.apps.googleusercontent.com',
      clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
      refreshToken: '1/XXxXxsss-xxxXXXXXxXxx0XXXxxXXx0x00xxx',
      accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
      expires: 1484314697598,
      accessUrl: oauth.tokenUrl, // default: Google's endpoint
    },
  });

  transporter.on('token', (token) => {
    console.log('A new access token was generated');
    console.log('User: %s', token.user);
    console.log('Access Token: %s…', token.accessToken.slice(0, 12)); // the docs print it whole
    console.log('Expires: %s', new Date(token.expires));
  });
  // ---
  const info = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Message', text: 'I hope this message gets through!' });
  console.log('sent %s: %s', info.messageId, info.response);
  const second = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Again', text: 'cached token' });
  console.log('sent %s: %s', second.messageId, second.response);
  console.log('token requests: %d (grant_type=%s); the second message reused the new token', oauth.tokenRequests.length, oauth.tokenRequests[0].body.grant_type);
} finally {
  await server.close();
  await oauth.close();
}
