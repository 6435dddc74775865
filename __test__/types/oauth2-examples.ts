// The OAuth2 examples of nodemailer's documentation, as a TypeScript user writes them. Only the
// import line differs from a nodemailer program.
import nodemailer from 'mailer-rs';

const userTokens: Record<string, string> = { 'user@example.com': 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x' };

// 1. Authenticate using existing token
let transporter = nodemailer.createTransport({
  host: 'smtp.gmail.com',
  port: 465,
  secure: true,
  auth: {
    type: 'OAuth2',
    user: 'user@example.com',
    accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
  },
});

// 2. Custom handler
transporter = nodemailer.createTransport({
  host: 'smtp.gmail.com',
  port: 465,
  secure: true,
  auth: {
    type: 'OAuth2',
    user: 'user@example.com',
  },
});
transporter.set('oauth2_provision_cb', (user, renew, callback) => {
  const accessToken = userTokens[user];
  if (!accessToken) {
    return callback(new Error('Unknown user'));
  } else {
    return callback(null, accessToken);
  }
});
// mailer-rs extra: a Promise-returning provisioner, with an expiry.
transporter.set('oauth2_provision_cb', async (user: string, renew: boolean) => ({
  accessToken: userTokens[user] ?? '',
  expires: renew ? Date.now() + 3600_000 : 0,
}));

// 3. Set up 3LO authentication
transporter = nodemailer.createTransport({
  host: 'smtp.gmail.com',
  port: 465,
  secure: true,
  auth: {
    type: 'OAuth2',
    user: 'user@example.com',
    clientId: '000000000000-xxx0.apps.googleusercontent.com',
    clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
    refreshToken: '1/XXxXxsss-xxxXXXXXxXxx0XXXxxXXx0x00xxx',
    accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
    expires: 1484314697598,
  },
});

// 4. Set up 2LO authentication
transporter = nodemailer.createTransport({
  host: 'smtp.gmail.com',
  port: 465,
  secure: true,
  auth: {
    type: 'OAuth2',
    user: 'user@example.com',
    serviceClient: '113600000000000000000',
    privateKey: '-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBg...',
    accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
    expires: 1484314697598,
  },
});

// Token update notifications
transporter.on('token', (token) => {
  console.log('A new access token was generated');
  console.log('User: %s', token.user);
  console.log('Access Token: %s', token.accessToken);
  console.log('Expires: %s', new Date(token.expires));
});

// 5. Provide authentication details with message options
transporter = nodemailer.createTransport({
  host: 'smtp.gmail.com',
  port: 465,
  secure: true,
  auth: {
    type: 'OAuth2',
    clientId: '000000000000-xxx.apps.googleusercontent.com',
    clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
  },
});
transporter.sendMail({
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

// 5 with your own OAuth2 handler
transporter = nodemailer.createTransport({
  host: 'smtp.gmail.com',
  port: 465,
  secure: true,
  auth: {
    type: 'OAuth2',
  },
});
transporter.set('oauth2_provision_cb', (user, renew, callback) => {
  const accessToken = userTokens[user];
  if (!accessToken) {
    return callback(new Error('Unknown user'));
  } else {
    return callback(null, accessToken);
  }
});
transporter.sendMail({
  from: 'sender@example.com',
  to: 'recipient@example.com',
  subject: 'Message',
  text: 'I hope this message gets through!',
  auth: {
    user: 'user@example.com',
  },
});

// Microsoft 365 (docs/oauth2.md): custom token endpoint and params, auth.tls, requestTimeout.
nodemailer.createTransport({
  host: 'smtp.office365.com',
  port: 587,
  secure: false,
  auth: {
    type: 'OAuth2',
    user: 'user@contoso.com',
    clientId: 'id',
    clientSecret: 'secret',
    refreshToken: 'refresh',
    accessUrl: 'https://login.microsoftonline.com/tenant/oauth2/v2.0/token',
    customParams: { scope: 'https://outlook.office365.com/SMTP.Send offline_access' },
    customHeaders: { 'X-Request-Id': 'abc' },
    requestTimeout: 10_000,
    tls: { rejectUnauthorized: true },
    privateKey: { key: '-----BEGIN ENCRYPTED PRIVATE KEY-----\n...', passphrase: 'pw' },
  },
});
