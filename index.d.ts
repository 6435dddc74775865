/// <reference types="node" />
// Public types of mailer-rs: nodemailer 10's createTransport / transporter surface for the SMTP,
// pooled SMTP and stream transports. Names and shapes follow nodemailer's own shipped types
// (and @types/nodemailer's `Mail.Options` / `SMTPTransport.Options` layout), so code typed
// against nodemailer compiles unchanged. Inputs are at least as wide as nodemailer's; options
// mailer-rs does not implement are left out on purpose (a compile error beats a silent ignore):
// sendmail, SES.
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { OutgoingHttpHeaders } from 'node:http';
import type { KeyLike } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// Addresses, headers, content

/** An address object; `group` makes a named group (`Friends: a@x, b@x;`). */
export interface Address {
  name?: string | undefined;
  address?: string | undefined;
  group?: Address[] | undefined;
}
/** What address fields accept: `'a@x, "B" <b@x>'`, an {@link Address}, or (nested) lists of these. */
export type AddressInput = string | Address | AddressInput[];

/** A header value that is written as given (`prepared`), folded only with `foldLines`. */
export interface PreparedHeaderValue {
  value?: unknown;
  prepared?: boolean | undefined;
  foldLines?: boolean | undefined;
}
export type HeaderValue = string | number | boolean | Date | Address | PreparedHeaderValue | HeaderValue[] | null | undefined;
export interface Header {
  key: string;
  value: HeaderValue;
}
export interface HeaderMap {
  [key: string]: HeaderValue;
}
export type Headers = Header | Header[] | HeaderMap;

/** Content pointing elsewhere: a file path or a URL. */
export interface ContentObject {
  path?: string | undefined;
  href?: string | undefined;
  httpHeaders?: OutgoingHttpHeaders | undefined;
  tls?: { [key: string]: any } | undefined;
}
export type Content = string | Buffer | Readable | ContentObject;

/** An alternative body (and the base of attachments). */
export interface AttachmentLike {
  content?: Content | undefined;
  path?: string | false | undefined;
  href?: string | false | undefined;
  httpHeaders?: OutgoingHttpHeaders | undefined;
  tls?: { [key: string]: any } | undefined;
  encoding?: string | undefined;
  raw?: Content | undefined;
  contentType?: string | undefined;
  contentTransferEncoding?: string | false | undefined;
  filename?: string | false | undefined;
  headers?: Headers | undefined;
}
export interface Attachment extends AttachmentLike {
  /** `'attachment'` (default) or `'inline'`. */
  contentDisposition?: string | undefined;
  /** Content-ID for `<img src="cid:...">`. */
  cid?: string | undefined;
}
export interface IcalAttachment extends AttachmentLike {
  /** iCalendar METHOD, e.g. `'REQUEST'`, `'CANCEL'`. */
  method?: string | undefined;
}
export type ListHeader = string | { url: string; comment?: string | undefined };
export interface ListHeaders {
  [key: string]: ListHeader | (ListHeader | ListHeader[])[];
}
export type TextEncoding = 'quoted-printable' | 'base64' | 'Q' | 'B';

/** `envelope` message option: overrides the SMTP envelope derived from the headers. */
export interface EnvelopeInput {
  from?: AddressInput | false | undefined;
  to?: AddressInput | undefined;
  cc?: AddressInput | undefined;
  bcc?: AddressInput | undefined;
  size?: number | string | undefined;
  use8BitMime?: boolean | undefined;
  [key: string]: unknown;
}
/** The envelope a message was sent with (`info.envelope`). */
export interface Envelope {
  from: string | false;
  to: string[];
  [key: string]: unknown;
}

/** Delivery status notification parameters (RFC 3461); sent when the server advertises DSN. */
export interface SMTPEnvelopeDsn {
  /** `'HDRS'` or `'FULL'` (`'headers'` / `'full'` accepted). */
  ret?: string | null | undefined;
  return?: string | undefined;
  /** ENVID. */
  envid?: string | null | undefined;
  id?: string | undefined;
  /** `'NEVER'`, or any of `'SUCCESS'`, `'FAILURE'`, `'DELAY'`. */
  notify?: string | string[] | null | undefined;
  /** ORCPT. */
  recipient?: string | undefined;
  orcpt?: string | null | undefined;
}

// ---------------------------------------------------------------------------------------------
// Authentication

/** Called when no usable token is cached: `callback(err, accessToken, expires)` with `expires`
 *  in ms since the epoch. mailer-rs also accepts a returned Promise of the token (a string or
 *  `{ accessToken, expires }`). `renew` is true when the previous token expired or was rejected. */
export type XOAuth2ProvisionCallback = (
  user: string,
  renew: boolean,
  callback: (err: Error | null, accessToken?: string, expires?: number) => void
) => void | Promise<string | { accessToken: string; expires?: number | undefined } | void>;
/** Alias of {@link XOAuth2ProvisionCallback}. */
export type ProvisionCallback = XOAuth2ProvisionCallback;

/** OAuth2 settings (nodemailer's `XOAuth2Options`). See docs/oauth2.md. */
export interface XOAuth2Options {
  /** The mailbox (XOAUTH2 user). */
  user?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** 3-legged OAuth2: used to get a new access token when there is none or it expired. */
  refreshToken?: string | undefined;
  /** Token endpoint; default `https://accounts.google.com/o/oauth2/token`. */
  accessUrl?: string | undefined;
  accessToken?: string | undefined;
  /** Service account key (PEM), or `{ key, passphrase }` for an encrypted PKCS#8 key. */
  privateKey?: KeyLike | { key: string | Buffer; passphrase: string } | undefined;
  /** Absolute expiry of `accessToken`, ms since the epoch. */
  expires?: number | undefined;
  /** Lifetime of `accessToken` in seconds, when `expires` is not known. */
  timeout?: number | undefined;
  provisionCallback?: XOAuth2ProvisionCallback | undefined;
  /** TLS options of the token request (`ca`, `rejectUnauthorized`). */
  tls?: { [key: string]: any } | undefined;
  /** 2-legged OAuth2 (service account): the client id, JWT issuer. */
  serviceClient?: string | undefined;
  /** JWT lifetime in seconds (default 300). */
  serviceRequestTimeout?: number | undefined;
  /** Service account scope; default `https://mail.google.com/`. */
  scope?: string | undefined;
  component?: string | undefined;
  customHeaders?: OutgoingHttpHeaders | undefined;
  /** Token request timeout in ms (mailer-rs default 30000). */
  requestTimeout?: number | undefined;
  customParams?: { [key: string]: any } | undefined;
}
/** Alias of {@link XOAuth2Options}. */
export type OAuth2Options = XOAuth2Options;

/** The `'token'` event payload: a token mailer-rs fetched from `accessUrl`. */
export interface XOAuth2Token {
  user?: string | undefined;
  accessToken: string;
  /** Absolute expiry, ms since the epoch (0 when unknown). */
  expires: number;
}
/** Alias of {@link XOAuth2Token}. */
export type TokenEvent = XOAuth2Token;

/** `auth` of the transport or of one message: a login, or OAuth2 (`type: 'OAuth2'`). */
export interface SMTPTransportAuthOptions extends XOAuth2Options {
  /** `'OAuth2'` selects XOAUTH2; anything else (default `'login'`) is a password login. */
  type?: 'OAuth2' | 'oauth2' | 'OAUTH2' | 'login' | 'LOGIN' | (string & {}) | undefined;
  user?: string | undefined;
  pass?: string | undefined;
  /** SASL method: `'PLAIN'`, `'LOGIN'`, `'CRAM-MD5'`, `'XOAUTH2'`. */
  method?: 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'XOAUTH2' | (string & {}) | undefined;
  options?: { [key: string]: any } | undefined;
  service?: string | undefined;
}
export type AuthOptions = SMTPTransportAuthOptions;
export type LoginOptions = SMTPTransportAuthOptions;

/** User and password as a custom authentication handler gets them (`ctx.auth.credentials`). */
export interface SMTPConnectionCredentials {
  user?: string | undefined;
  pass?: string | undefined;
  /** The `options` of the transport's `auth`. */
  options?: { [key: string]: any } | undefined;
}

/** `ctx.auth`: the transport's (or message's) auth with the credentials filled in. */
export interface SMTPConnectionCustomAuthData {
  type?: string | undefined;
  method?: string | false | undefined;
  user?: string | undefined;
  pass?: string | undefined;
  options?: { [key: string]: any } | undefined;
  credentials: SMTPConnectionCredentials & { user: string; pass: string };
  [key: string]: any;
}

/** A server reply as `ctx.sendCommand` hands it over. */
export interface SMTPConnectionCustomAuthResponse {
  /** The command that was sent. */
  command: string;
  /** The reply, lines joined by `\n`. */
  response: string;
  /** The reply code, 0 when the reply has none. */
  status: number;
  /** The enhanced status code (`2.7.0`), when present. */
  code?: string | undefined;
  /** The reply without its codes. */
  text: string;
}

export type SMTPConnectionCustomAuthCommandCallback = (err: Error | null, data: SMTPConnectionCustomAuthResponse) => void;

/** What a `customAuth` handler is called with (docs/custom-auth.md). */
export interface SMTPConnectionCustomAuthContext {
  auth: SMTPConnectionCustomAuthData;
  /** The mechanism, upper case. */
  method: string;
  /** `SMTPUTF8`, `DSN`, `8BITMIME`, `REQUIRETLS`, `PIPELINING`, `SIZE`, as advertised. */
  extensions: string[];
  /** Advertised mechanisms among PLAIN, LOGIN, CRAM-MD5, XOAUTH2. */
  authMethods: string[];
  /** `SIZE n`, or false. */
  maxAllowedSize: number | false;
  /** Writes a line (logged as `/* secret *\/` after `AUTH <method>`) and gets the reply. */
  sendCommand(cmd: string): Promise<SMTPConnectionCustomAuthResponse>;
  sendCommand(cmd: string, done: SMTPConnectionCustomAuthCommandCallback): void;
  /** The login succeeded. */
  resolve(): void;
  /** The login failed (`EAUTH`, with the last reply). */
  reject(err: Error | string): void;
}

/** Resolves or rejects through `ctx`, or returns a promise that settles the login. */
export type SMTPConnectionCustomAuthHandler = (ctx: SMTPConnectionCustomAuthContext) => unknown;
/** Handlers by (case-insensitive) mechanism name. */
export type SMTPConnectionCustomAuthHandlers = { [method: string]: SMTPConnectionCustomAuthHandler };

// ---------------------------------------------------------------------------------------------
// Transport options

/** bunyan-compatible logger: `logger.info(entry, format, ...args)`. */
export interface Logger {
  trace?(...args: any[]): any;
  debug?(...args: any[]): any;
  info?(...args: any[]): any;
  warn?(...args: any[]): any;
  error?(...args: any[]): any;
  fatal?(...args: any[]): any;
  log?(...args: any[]): any;
  [level: string]: any;
}
export type ExternalLogger = Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Node's TLS options. mailer-rs (rustls) reads `rejectUnauthorized`, `ca` (added to the public
 *  roots), `servername`, `minVersion`, `cert`, `key`, `passphrase` (encrypted PKCS#8 keys) and
 *  `checkServerIdentity`; others are ignored (one debug log line). */
export type TlsOptions = ConnectionOptions;

/** Options every transport reads. */
export interface TransportOptions {
  /** `true` for the console logger, or a bunyan-compatible logger. */
  logger?: Logger | boolean | undefined;
  component?: string | undefined;
  tls?: TlsOptions | undefined;
  /** Forced onto every message: reject file paths as content. */
  disableFileAccess?: boolean | undefined;
  /** Forced onto every message: reject URLs as content. */
  disableUrlAccess?: boolean | undefined;
  normalizeHeaderKey?: ((key: string) => string) | undefined;
  maxRecipients?: number | undefined;
  attachDataUrls?: boolean | undefined;
  /** DKIM-sign every message (a message's own `dkim` replaces this). See docs/dkim.md. */
  dkim?: DKIMOptions | undefined;
}

/** One DKIM key. */
export interface DKIMKey {
  /** The signing domain (`d=`). */
  domainName: string;
  /** The selector (`s=`): the key is published at `<selector>._domainkey.<domain>`. */
  keySelector: string;
  /** PEM private key (RSA or Ed25519). */
  privateKey: string | Buffer;
}

/** nodemailer's `dkim` options: one key, or several in `keys`. */
export interface DKIMOptions extends Partial<DKIMKey> {
  keys?: DKIMKey[] | undefined;
  /** Colon-separated header names to sign instead of the defaults. */
  headerFieldNames?: string | undefined;
  /** Colon-separated header names never to sign. */
  skipFields?: string | undefined;
  /** Only `'sha256'`. */
  hashAlgo?: 'sha256' | undefined;
  /** Where bodies above `cacheTreshold` bytes wait while being signed (default: the OS temp dir). */
  cacheDir?: string | false | undefined;
  cacheTreshold?: number | undefined;
}

/** What `getSocket` and proxy handlers receive: the transport options with this connection's
 *  `host` and `port`. */
export interface GetSocketOptions {
  host?: string | undefined;
  port?: number | undefined;
  [key: string]: any;
}

/** What `getSocket` hands back: `connection` carries the session; `secure`, `secured` and `host`
 *  apply to this connection. */
export interface SocketOptions {
  /** A connected socket (net, tls, or any Duplex). */
  connection?: import('node:net').Socket | import('node:stream').Duplex | undefined;
  secured?: boolean | undefined;
  [key: string]: any;
}
export type Connection = SocketOptions;

/** `false` (or no `connection`): connect as usual. */
export type GetSocketCallback = (err: Error | null, socketOptions?: SocketOptions | false) => void;
export type GetSocketHandler = (options: GetSocketOptions, callback: GetSocketCallback) => void;
export type SMTPTransportGetSocket = GetSocketHandler;
export type SMTPTransportGetSocketCallback = GetSocketCallback;
/** `set('proxy_handler_<scheme>', handler)`: `proxy` is `url.parse()` of the proxy URL. */
export type ProxyHandler = (proxy: import('node:url').UrlWithStringQuery, options: GetSocketOptions, callback: GetSocketCallback) => void;

/** SMTP connection options. */
export interface SMTPConnectionOptions {
  /** Default 587, or 465 with `secure`. */
  port?: number | string | undefined;
  /** Default `'localhost'`. */
  host?: string | undefined;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used when offered. */
  secure?: boolean | undefined;
  servername?: string | undefined;
  ignoreTLS?: boolean | undefined;
  requireTLS?: boolean | undefined;
  opportunisticTLS?: boolean | undefined;
  /** EHLO name. */
  name?: string | undefined;
  localAddress?: string | undefined;
  /** ms, default 120000. */
  connectionTimeout?: number | undefined;
  /** ms, default 30000. */
  greetingTimeout?: number | undefined;
  /** ms of inactivity, default 600000. */
  socketTimeout?: number | undefined;
  socketCloseTimeout?: number | undefined;
  maxResponseSize?: number | undefined;
  /** ms, default 30000. */
  dnsTimeout?: number | undefined;
  lmtp?: boolean | undefined;
  logger?: Logger | boolean | undefined;
  /** Log the SMTP transcript (AUTH payloads masked). */
  debug?: boolean | undefined;
  transactionLog?: boolean | undefined;
  tls?: TlsOptions | undefined;
  /** `http://`, `https://`, `socks4://`, `socks4a://` or `socks5://` proxy URL (docs/proxy.md). */
  proxy?: string | undefined;
  allowInternalNetworkInterfaces?: boolean | undefined;
  component?: string | undefined;
  /** SASL mechanisms of your own, by name (docs/custom-auth.md). */
  customAuth?: SMTPConnectionCustomAuthHandlers | undefined;
  /** An open socket to run the session on (docs/proxy.md). */
  connection?: import('node:net').Socket | import('node:stream').Duplex | undefined;
  /** A socket to connect (`socket.connect(port, host)`) and run the session on. */
  socket?: import('node:net').Socket | undefined;
  /** The socket is already TLS: `secure` adds no handshake. */
  secured?: boolean | undefined;
}

export interface SMTPTransportOptions extends SMTPConnectionOptions, TransportOptions {
  /** A well-known service (`'Gmail'`, `'Outlook365'`, …): sets host, port and secure. */
  service?: string | undefined;
  /** `smtp(s)://user:pass@host:port?opt=val`; the URL's values win over the other keys. */
  url?: string | undefined;
  auth?: SMTPTransportAuthOptions | undefined;
  /** Makes each connection's socket (docs/proxy.md). */
  getSocket?: SMTPTransportGetSocket | undefined;
  forceAuth?: boolean | undefined;
  authMethod?: string | undefined;
  pool?: boolean | undefined;
}

/** `pool: true`: connections are kept open and reused. */
export interface SMTPPoolOptions extends SMTPTransportOptions {
  pool?: boolean | undefined;
  /** Default 5. */
  maxConnections?: number | undefined;
  /** Messages per connection before it is replaced; default 100 (`Infinity` for no limit). */
  maxMessages?: number | undefined;
  /** Messages per `rateDelta` ms. */
  rateLimit?: number | undefined;
  /** Default 1000. */
  rateDelta?: number | undefined;
  maxRequeues?: number | undefined;
  idleTimeout?: number | undefined;
}

/** `streamTransport: true`: compose only, `info.message` is the RFC 5322 message. */
export interface StreamTransportOptions extends TransportOptions {
  streamTransport?: boolean | undefined;
  /** `info.message` as a Buffer instead of a stream. */
  buffer?: boolean | undefined;
  /** `'unix'` / `'windows'` line endings. */
  newline?: string | undefined;
  /** Host name used in generated Message-IDs. */
  hostname?: string | undefined;
}

/** `jsonTransport: true`: `info.message` is the message data as JSON (an object with `skipEncoding`). */
export interface JSONTransportOptions extends TransportOptions {
  jsonTransport?: boolean | undefined;
  skipEncoding?: boolean | undefined;
  hostname?: string | undefined;
}

/** `sendmail: true`: the message is piped into a sendmail binary (docs/transports.md). */
export interface SendmailTransportOptions extends TransportOptions {
  /** Selects this transport; the binary itself is set with `path`. */
  sendmail?: boolean | string | undefined;
  /** Path to the sendmail binary; default `'sendmail'`, looked up in PATH. */
  path?: string | undefined;
  /** `'windows'` or `'unix'`: the line endings of the message piped to sendmail. */
  newline?: string | undefined;
  /** Arguments that replace `-f <sender>`; `-i` before them and the recipients after are always added. */
  args?: string[] | undefined;
  /** Host name used in generated Message-IDs. */
  hostname?: string | undefined;
}

/** The `sesClient` the SES transport needs: an `SESv2Client` of @aws-sdk/client-sesv2. */
export interface SESTransportClient {
  /** Its `region` provider is resolved for the domain of the returned Message-ID. */
  config?: { region?: (() => Promise<string>) | undefined; [key: string]: any } | undefined;
  send(command: unknown): Promise<any>;
}
/** The `SendEmailCommand` class of @aws-sdk/client-sesv2. */
export type SESTransportSendEmailCommand = new (input: any) => unknown;

/** `SES: { sesClient, SendEmailCommand }`: the raw message is sent with your SESv2 client (docs/transports.md). */
export interface SESTransportOptions extends TransportOptions {
  SES: {
    sesClient: SESTransportClient;
    SendEmailCommand: SESTransportSendEmailCommand;
  };
  /** Host name used in generated Message-IDs. */
  hostname?: string | undefined;
}

/** A message's `ses` keys, merged into the SendEmail request (any SendEmailCommandInput field). */
export interface SESSendEmailRequest {
  FromEmailAddress?: string | undefined;
  Destination?: { ToAddresses?: string[] | undefined; CcAddresses?: string[] | undefined; BccAddresses?: string[] | undefined } | undefined;
  ReplyToAddresses?: string[] | undefined;
  Content?: unknown;
  EmailTags?: Array<{ Name?: string | undefined; Value?: string | undefined }> | undefined;
  ConfigurationSetName?: string | undefined;
  ListManagementOptions?: unknown;
  FeedbackForwardingEmailAddress?: string | undefined;
  [key: string]: unknown;
}

export type TransportConfig =
  | SMTPTransportOptions
  | SMTPPoolOptions
  | SendmailTransportOptions
  | StreamTransportOptions
  | JSONTransportOptions
  | SESTransportOptions;

// ---------------------------------------------------------------------------------------------
// Messages

export interface SendMailOptions {
  from?: AddressInput | undefined;
  sender?: AddressInput | undefined;
  to?: AddressInput | undefined;
  cc?: AddressInput | undefined;
  bcc?: AddressInput | undefined;
  replyTo?: AddressInput | undefined;
  inReplyTo?: string | undefined;
  references?: string | string[] | undefined;
  subject?: string | undefined;
  messageId?: string | undefined;
  date?: Date | string | undefined;
  text?: string | Buffer | Readable | AttachmentLike | undefined;
  html?: string | Buffer | Readable | AttachmentLike | undefined;
  watchHtml?: string | Buffer | Readable | AttachmentLike | undefined;
  amp?: string | Buffer | Readable | AttachmentLike | undefined;
  icalEvent?: string | Buffer | Readable | IcalAttachment | undefined;
  attachments?: Attachment[] | undefined;
  alternatives?: AttachmentLike[] | undefined;
  headers?: Headers | undefined;
  list?: ListHeaders | undefined;
  envelope?: EnvelopeInput | undefined;
  encoding?: string | undefined;
  textEncoding?: TextEncoding | undefined;
  /** A complete RFC 5322 message, sent as is. */
  raw?: Content | undefined;
  disableUrlAccess?: boolean | undefined;
  disableFileAccess?: boolean | undefined;
  attachDataUrls?: boolean | undefined;
  boundaryPrefix?: string | undefined;
  baseBoundary?: string | undefined;
  newline?: string | undefined;
  normalizeHeaderKey?: ((key: string) => string) | undefined;
  priority?: 'high' | 'normal' | 'low' | (string & {}) | undefined;
  xMailer?: string | false | undefined;
  /** DKIM options for this message; replaces the transport's. */
  dkim?: DKIMOptions | undefined;
  maxRecipients?: number | undefined;
  dsn?: SMTPEnvelopeDsn | undefined;
  requireTLSExtensionEnabled?: boolean | undefined;
  /** Per-message auth: only `type`, `user`, `pass`, `accessToken`, `refreshToken` and `expires` are merged over the transport's auth (as nodemailer); other keys are ignored. */
  auth?: SMTPTransportAuthOptions | undefined;
  /** SES transport: keys merged into the SendEmail request (`ConfigurationSetName`, `EmailTags`, …). */
  ses?: SESSendEmailRequest | undefined;
}
/** The `defaults` argument of `createTransport`. */
export type MailDefaults = SendMailOptions;
/** @types/nodemailer's name for the message options. */
export type Options = SendMailOptions;

// ---------------------------------------------------------------------------------------------
// Results and errors

/** nodemailer's error codes. */
export type ErrorCode =
  | 'ECONNECTION' | 'ETIMEDOUT' | 'ESOCKET' | 'EDNS' | 'ETLS' | 'EREQUIRETLS' | 'EPROTOCOL'
  | 'EENVELOPE' | 'EMESSAGE' | 'EOTP' | 'ESTREAM' | 'EABORT' | 'EAUTH' | 'ENOAUTH' | 'EOAUTH2'
  | 'EMAXLIMIT' | 'EMAXRECIPIENTS' | 'ESENDMAIL' | 'ESES' | 'ECONFIG' | 'EPROXY' | 'EFILEACCESS'
  | 'EURLACCESS' | 'EFETCH';

/** An `Error` with nodemailer's SMTP context. `code` is one of {@link ErrorCode} for errors
 *  mailer-rs raises (socket errors keep Node's `errno`/`syscall`). */
export interface NodemailerError extends NodeJS.ErrnoException {
  /** The SMTP command in flight: `'CONN'`, `'EHLO'`, `'AUTH PLAIN'`, `'MAIL FROM'`, `'RCPT TO'`, `'DATA'`, `'API'`, … */
  command?: string | undefined;
  /** The server's full reply. */
  response?: string | undefined;
  /** The reply's code, e.g. 535. */
  responseCode?: number | undefined;
  permanent?: boolean | undefined;
  sourceUrl?: string | undefined;
  recipient?: string | undefined;
  rejected?: string[] | undefined;
  rejectedErrors?: NodemailerError[] | undefined;
  originalCode?: string | undefined;
  timeoutType?: 'CONNECT_TIMEOUT' | 'GREETING_TIMEOUT' | 'UPGRADE_TIMEOUT' | 'SOCKET_TIMEOUT' | undefined;
}
/** Alias of {@link NodemailerError}. */
export type MailerError = NodemailerError;

/** What any transport resolves `sendMail` with. */
export interface SentMessageInfo {
  envelope: Envelope;
  messageId: string;
  accepted?: string[] | undefined;
  rejected?: string[] | undefined;
  pending?: string[] | undefined;
  response?: string | undefined;
  message?: any;
  [key: string]: any;
}
/** `sendMail`'s result on the SMTP and pooled transports. */
export interface SMTPSentMessageInfo extends SentMessageInfo {
  envelope: Envelope;
  /** The Message-ID value as stored (`<…>` unless you gave one without brackets). */
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** Present only when a recipient was rejected. */
  rejectedErrors?: NodemailerError[] | undefined;
  /** EHLO keywords (not present after a HELO fallback). */
  ehlo?: string[] | undefined;
  /** ms from connection start to DATA accepted. */
  envelopeTime: number;
  /** ms from DATA accepted to the final reply. */
  messageTime: number;
  /** Bytes of message data written (after dot-stuffing). */
  messageSize: number;
  /** The server's final reply, e.g. `'250 2.0.0 Ok: queued as ABC'`. */
  response: string;
  serverMessageId?: string | undefined;
}
export type SMTPPoolSentMessageInfo = SMTPSentMessageInfo;
export interface StreamSentMessageInfo extends SentMessageInfo {
  envelope: Envelope;
  messageId: string;
  message: Readable | Buffer;
}

/** What the sendmail transport resolves with. */
export interface SendmailSentMessageInfo extends SentMessageInfo {
  envelope: Envelope;
  messageId: string;
  /** Always `'Messages queued for delivery'`. */
  response: string;
}

/** What the SES transport resolves with. */
export interface SESSentMessageInfo extends SentMessageInfo {
  envelope: Envelope;
  /** Built from SES's MessageId: `<id@region.amazonses.com>` (`email` for us-east-1). */
  messageId: string;
  /** The MessageId SES returned. */
  response: string;
  /** The raw RFC 5322 message that was sent. */
  raw: Buffer;
}

/** What the JSON transport resolves with: the normalised message as JSON text. */
export interface JSONSentMessageInfo extends SentMessageInfo {
  message: string;
}

export type Callback<T> = (err: NodemailerError | null, result: T) => void;
export type SendMailCallback<T = SentMessageInfo> = (err: NodemailerError | null, info: T) => void;
export type VerifyCallback = Callback<true>;

// ---------------------------------------------------------------------------------------------
// The transporter

/** What a `use()` plugin receives. `compile` plugins may change `mail.data`. */
export interface MailMessage<T = SentMessageInfo> {
  data: SendMailOptions;
  [key: string]: any;
}
export type PluginCallback = (err?: Error | null) => void;
export type PluginFunction<T = SentMessageInfo> = (mail: MailMessage<T>, callback: PluginCallback) => void;

/** Keys `set()`/`get()` know. */
export interface MailMeta {
  oauth2_provision_cb: XOAuth2ProvisionCallback;
  /** Accepted and ignored: SOCKS is built in. */
  proxy_socks_module: any;
  /** A handler for the scheme of the `proxy` URL (docs/proxy.md). */
  [key: `proxy_handler_${string}`]: ProxyHandler;
  [key: string]: any;
}

/** `transporter.transporter`: the transport behind the `Mail` object. */
export interface Transport<T = SentMessageInfo, D extends TransportOptions = TransportOptions> {
  /** `'SMTP'`, `'SMTP (pool)'`, `'Sendmail'`, `'StreamTransport'`, `'JSONTransport'` or `'SESTransport'`. */
  name: string;
  version: string;
  /** The merged options (URL, well-known service applied). */
  options: D;
  mailer?: Mail<T, D> | undefined;
}

/** The object `createTransport` returns (nodemailer's `Mail`). */
export interface Mail<out T = SentMessageInfo, out D extends TransportOptions = TransportOptions> extends EventEmitter {
  /** The options as given to `createTransport`. */
  options: D;
  meta: Map<string, any>;
  transporter: Transport<T, D>;
  sendMail(mail: SendMailOptions): Promise<T>;
  sendMail(mail: SendMailOptions, callback: SendMailCallback<T>): void;
  /** Connects (and logs in when auth is set) without sending; resolves `true`. */
  verify(): Promise<true>;
  verify(callback: VerifyCallback): void;
  /** Pool: closes idle connections now, busy ones after their message. */
  close(options?: { force?: boolean | undefined }): void;
  /** Pool: true when a message sent now would not wait in the queue. SMTP: always false. */
  isIdle(): boolean;
  /** Messages queued or in flight. */
  pendingCount(): number;
  use(step: 'compile' | 'stream' | (string & {}), plugin: PluginFunction<T>): this;
  getVersionString(): string;
  set<K extends keyof MailMeta & string>(key: K, value: MailMeta[K]): Map<string, any>;
  get<K extends keyof MailMeta & string>(key: K): MailMeta[K] | undefined;

  /** A token fetched from `accessUrl` (3LO/2LO); not for tokens you supplied. */
  on(event: 'token', listener: (token: XOAuth2Token) => void): this;
  /** Pool: room in the queue again. */
  on(event: 'idle', listener: () => void): this;
  /** Pool: idle and every connection closed. */
  on(event: 'clear', listener: () => void): this;
  on(event: 'error', listener: (err: NodemailerError) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'token', listener: (token: XOAuth2Token) => void): this;
  once(event: 'idle', listener: () => void): this;
  once(event: 'clear', listener: () => void): this;
  once(event: 'error', listener: (err: NodemailerError) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  addListener(event: 'token', listener: (token: XOAuth2Token) => void): this;
  addListener(event: 'idle', listener: () => void): this;
  addListener(event: 'clear', listener: () => void): this;
  addListener(event: 'error', listener: (err: NodemailerError) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** The `Mail.Options` / `Mail.Attachment` names of @types/nodemailer and nodemailer's `lib/mailer`. */
export declare namespace Mail {
  type Options = SendMailOptions;
  type Address = Address_;
  type Attachment = Attachment_;
  type AttachmentLike = AttachmentLike_;
  type AmpAttachment = AttachmentLike_;
  type IcalAttachment = IcalAttachment_;
  type Headers = Headers_;
  type ListHeader = ListHeader_;
  type ListHeaders = ListHeaders_;
  type Envelope = EnvelopeInput;
  type TextEncoding = TextEncoding_;
  type PluginFunction<T = SentMessageInfo> = PluginFunction_<T>;
}

export type Transporter<T = SentMessageInfo, D extends TransportOptions = TransportOptions> = Mail<T, D>;

/** The `SMTPTransport.Options` names of @types/nodemailer and nodemailer's `lib/smtp-transport`. */
export declare namespace SMTPTransport {
  type Options = SMTPTransportOptions;
  type MailOptions = SendMailOptions;
  type SentMessageInfo = SMTPSentMessageInfo;
  type AuthenticationType = SMTPTransportAuthOptions;
}
/** The `SMTPPool.Options` names of nodemailer's `lib/smtp-pool`. */
export declare namespace SMTPPool {
  type Options = SMTPPoolOptions;
  type MailOptions = SendMailOptions;
  type SentMessageInfo = SMTPPoolSentMessageInfo;
}
/** The `SendmailTransport.Options` names of @types/nodemailer and nodemailer's `lib/sendmail-transport`. */
export declare namespace SendmailTransport {
  type Options = SendmailTransportOptions;
  type MailOptions = SendMailOptions;
  type SentMessageInfo = SendmailSentMessageInfo;
}
/** The `SESTransport.Options` names of @types/nodemailer and nodemailer's `lib/ses-transport`. */
export declare namespace SESTransport {
  type Options = SESTransportOptions;
  type MailOptions = SendMailOptions;
  type SentMessageInfo = SESSentMessageInfo;
  type SESv2ClientLike = SESTransportClient;
  type SendEmailCommandConstructorLike = SESTransportSendEmailCommand;
  type SendEmailRequestLike = SESSendEmailRequest;
  type MailSesOptions = SESSendEmailRequest;
}
/** The `StreamTransport.Options` names of nodemailer's `lib/stream-transport`. */
export declare namespace StreamTransport {
  type Options = StreamTransportOptions;
  type MailOptions = SendMailOptions;
  type SentMessageInfo = StreamSentMessageInfo;
}

// Private aliases: inside `namespace X { type Address = ... }` the outer name is shadowed.
type Address_ = Address;
type Attachment_ = Attachment;
type AttachmentLike_ = AttachmentLike;
type IcalAttachment_ = IcalAttachment;
type Headers_ = Headers;
type ListHeader_ = ListHeader;
type ListHeaders_ = ListHeaders;
type TextEncoding_ = TextEncoding;
type PluginFunction_<T> = PluginFunction<T>;
type SendMailOptions_ = SendMailOptions;
type SentMessageInfo_ = SentMessageInfo;
type TransportOptions_ = TransportOptions;
type SMTPTransportOptions_ = SMTPTransportOptions;
type SMTPSentMessageInfo_ = SMTPSentMessageInfo;
type SMTPPoolOptions_ = SMTPPoolOptions;
type NodemailerError_ = NodemailerError;

// ---------------------------------------------------------------------------------------------
// Functions

/** Creates a transporter from a transport object of `mailer-rs/lib/smtp-pool`, `lib/smtp-transport`,
 *  `lib/stream-transport` or `lib/json-transport` (`createTransport(new SMTPPool(options))`). */
export declare function createTransport(
  transport: InstanceType<typeof import('./lib/nodemailer/smtp-pool.js')>,
  defaults?: MailDefaults
): Mail<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
export declare function createTransport(
  transport: InstanceType<typeof import('./lib/nodemailer/smtp-transport.js')>,
  defaults?: MailDefaults
): Mail<SMTPSentMessageInfo, SMTPTransportOptions>;
export declare function createTransport(
  transport: InstanceType<typeof import('./lib/nodemailer/stream-transport.js')>,
  defaults?: MailDefaults
): Mail<StreamSentMessageInfo, StreamTransportOptions>;
export declare function createTransport(
  transport: InstanceType<typeof import('./lib/nodemailer/json-transport.js')>,
  defaults?: MailDefaults
): Mail<JSONSentMessageInfo, JSONTransportOptions>;
/** Creates a transporter: options or an `smtp(s)://` URL, plus message `defaults`. */
export declare function createTransport(
  options: SMTPPoolOptions & { pool: true },
  defaults?: MailDefaults
): Mail<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
export declare function createTransport(
  options: SendmailTransportOptions & { sendmail: true | string },
  defaults?: MailDefaults
): Mail<SendmailSentMessageInfo, SendmailTransportOptions>;
export declare function createTransport(
  options: StreamTransportOptions & { streamTransport: true },
  defaults?: MailDefaults
): Mail<StreamSentMessageInfo, StreamTransportOptions>;
export declare function createTransport(
  options: JSONTransportOptions & { jsonTransport: true },
  defaults?: MailDefaults
): Mail<JSONSentMessageInfo, JSONTransportOptions>;
export declare function createTransport(
  options: SESTransportOptions & { SES: object },
  defaults?: MailDefaults
): Mail<SESSentMessageInfo, SESTransportOptions>;
export declare function createTransport(
  options?: SMTPTransportOptions | string,
  defaults?: MailDefaults
): Mail<SMTPSentMessageInfo, SMTPTransportOptions>;
export declare function createTransport(
  options?: TransportConfig | string,
  defaults?: MailDefaults
): Mail<any, any>;

/** One service of an Ethereal test account. */
export interface TestAccountService {
  host: string;
  port: number;
  secure: boolean;
}
/** What `createTestAccount` gives: an Ethereal account's credentials and servers. */
export interface TestAccount {
  user: string;
  pass: string;
  smtp: TestAccountService;
  imap: TestAccountService;
  pop3: TestAccountService;
  web: string;
  /** true if the account can also receive external mail */
  mxEnabled?: boolean | undefined;
  [key: string]: unknown;
}
export type TestAccountCallback = (err: Error | null, account: TestAccount) => void;

/** nodemailer's `createTestAccount`: a throwaway Ethereal account from `apiUrl` (default
 *  `ETHEREAL_API` or https://api.nodemailer.com), cached for the process unless `ETHEREAL_CACHE` is off. */
export declare function createTestAccount(callback: TestAccountCallback): void;
export declare function createTestAccount(apiUrl: string | false | null | undefined, callback: TestAccountCallback): void;
export declare function createTestAccount(apiUrl?: string | false | null): Promise<TestAccount>;

/** nodemailer's `getTestMessageUrl`: the Ethereal web URL of a message, or false. */
export declare function getTestMessageUrl(info?: { response?: string | Buffer | null } | false | null): string | false;

/** The default export: `import nodemailer from 'mailer-rs'`. Its namespace carries the type
 *  names too, so `nodemailer.Transporter` / `nodemailer.SendMailOptions` work as with
 *  @types/nodemailer. */
declare const mailer: {
  createTransport: typeof createTransport;
  createTestAccount: typeof createTestAccount;
  getTestMessageUrl: typeof getTestMessageUrl;
};
declare namespace mailer {
  type Transporter<T = SentMessageInfo, D extends TransportOptions = TransportOptions> = Mail<T, D>;
  type SendMailOptions = SendMailOptions_;
  type SentMessageInfo = SentMessageInfo_;
  type TransportOptions = TransportOptions_;
  type SMTPTransportOptions = SMTPTransportOptions_;
  type SMTPSentMessageInfo = SMTPSentMessageInfo_;
  type SMTPPoolOptions = SMTPPoolOptions_;
  type Attachment = Attachment_;
  type Address = Address_;
  type NodemailerError = NodemailerError_;
}
export default mailer;
// Only what is marked `export` above is public (a .d.ts exports every declaration otherwise).
export {};
