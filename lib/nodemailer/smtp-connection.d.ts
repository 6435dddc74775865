// `mailer-rs/lib/smtp-connection`: types only (connections belong to the engine; loading this
// module at run time throws). `SMTPConnection.Options`, `.SMTPError`, … as in nodemailer's lib/smtp-connection.
import type * as root from '../../index.js';

declare namespace SMTPConnection {
  type Options = root.SMTPConnectionOptions;
  interface Credentials {
    user: string;
    pass: string;
  }
  type OAuth2 = root.XOAuth2Options;
  type AuthenticationType = root.SMTPTransportAuthOptions;
  type AuthenticationTypeLogin = root.SMTPTransportAuthOptions;
  type AuthenticationTypeOAuth2 = root.SMTPTransportAuthOptions;
  type DSNOption = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';
  type DSNOptions = root.SMTPEnvelopeDsn;
  type Envelope = root.EnvelopeInput;
  type SMTPError = root.NodemailerError;
  type SentMessageInfo = root.SMTPSentMessageInfo;
  type SMTPConnectionOptions = root.SMTPConnectionOptions;
}
export = SMTPConnection;
