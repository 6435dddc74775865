//! One SMTP/LMTP connection: connect, greeting, EHLO/HELO/LHLO, STARTTLS, AUTH, send (nodemailer's lib/smtp-connection).
//!
//! Request/response with an explicit reply parser (the model is lettre's async connection
//! and mini-redis's buffered frame reader). Every socket read and write, and every wait on
//! the body stream or a token provider, is bounded by `socket_timeout`.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use crate::auth::{self, AuthOptions, Credentials, TokenProvider};
use crate::capabilities::Capabilities;
use crate::command::Command;
use crate::data::DotStuffer;
use crate::envelope::{self, Envelope};
use crate::error::{socket_error, ErrorCode, SmtpError};
use crate::log::{Details, Field, Level, Logger};
use crate::net::{self, tls};
use crate::options::ConnectOptions;
use crate::reply::{Reply, ReplyParser};

/// Result of a successful `send`, nodemailer's `info` minus the transport-level fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SendInfo {
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
    pub rejected_errors: Vec<SmtpError>,
    /// ms from `send()` start to DATA accepted.
    pub envelope_time: u64,
    /// ms from DATA accepted to the final reply.
    pub message_time: u64,
    /// Body bytes written after dot-stuffing, terminator included.
    pub message_size: u64,
    pub response: String,
}

/// Body bytes are transformed in slices of this size so the output buffer stays small
/// whatever the size of the chunks the stream yields.
const BODY_SLICE: usize = 64 * 1024;
/// Longest wait for the reply to QUIT.
const QUIT_WAIT: Duration = Duration::from_secs(5);
/// Rounds of `334` → empty line accepted before giving up (nodemailer loops forever).
const MAX_334_ROUNDS: usize = 8;

pub struct SmtpConnection {
    io: net::Stream,
    parser: ReplyParser,
    read_buf: Vec<u8>,
    opts: ConnectOptions,
    name: String,
    logger: Logger,
    caps: Capabilities,
    allows_auth: bool,
    used_ehlo: bool,
    secure: bool,
    upgrading: bool,
    /// A transport-level failure happened; the session can no longer be used.
    broken: bool,
    authenticated: bool,
    remote: SocketAddr,
}

fn timeout_error() -> SmtpError {
    SmtpError::format(ErrorCode::ETimedOut, "Timeout", None, Some("CONN"))
}

impl SmtpConnection {
    /// DNS, TCP (+ implicit TLS), greeting, EHLO/LHLO (HELO fallback), STARTTLS, capabilities.
    /// A socket provider, when it has a stream for this connection, replaces DNS, TCP and proxy.
    pub async fn connect(opts: &ConnectOptions) -> Result<SmtpConnection, SmtpError> {
        let net::Established {
            stream,
            remote,
            opts,
            logger,
        } = net::connect(opts).await?;
        Self::start_session(opts, logger, stream, remote).await
    }

    /// Greeting, then the handshake, on a connected stream.
    async fn start_session(
        opts: ConnectOptions,
        logger: Logger,
        io: net::Stream,
        remote: SocketAddr,
    ) -> Result<SmtpConnection, SmtpError> {
        let mut conn = SmtpConnection {
            io,
            parser: ReplyParser::new(),
            read_buf: vec![0u8; 8 * 1024],
            name: opts.client_name(),
            secure: opts.secure,
            opts,
            logger,
            caps: Capabilities::default(),
            allows_auth: false,
            used_ehlo: false,
            upgrading: false,
            broken: false,
            authenticated: false,
            remote,
        };

        let greeting = match timeout(conn.opts.greeting_timeout, conn.read_reply()).await {
            Ok(r) => r?,
            Err(_) => {
                conn.broken = true;
                return Err(SmtpError::format(
                    ErrorCode::ETimedOut,
                    "Greeting never received",
                    None,
                    Some("CONN"),
                ));
            }
        };
        if !greeting.starts_with("220") {
            let text = greeting.text();
            return Err(SmtpError::format(
                ErrorCode::EProtocol,
                format!("Invalid greeting. response={text}"),
                Some(&text),
                Some("CONN"),
            ));
        }
        conn.handshake().await?;
        conn.logger.log(
            Level::Debug,
            "smtp",
            "SMTP handshake finished",
            Details::default,
        );
        Ok(conn)
    }

    /// EHLO/LHLO, HELO fallback and STARTTLS, as lib/smtp-connection.
    async fn handshake(&mut self) -> Result<(), SmtpError> {
        loop {
            let name = self.name.clone();
            let greet = if self.opts.lmtp {
                Command::Lhlo(&name)
            } else {
                Command::Ehlo(&name)
            };
            let r = self.command(greet).await?;
            let text = r.text();
            if self.opts.lmtp {
                if !r.is_positive() {
                    return Err(SmtpError::format(
                        ErrorCode::EProtocol,
                        format!("Invalid LHLO. response={text}"),
                        Some(&text),
                        Some("LHLO"),
                    ));
                }
            } else {
                if r.starts_with("421") {
                    return Err(SmtpError::format(
                        ErrorCode::EConnection,
                        format!("Server terminates connection. response={text}"),
                        Some(&text),
                        Some("EHLO"),
                    ));
                }
                if !r.is_positive() {
                    if self.opts.require_tls {
                        return Err(SmtpError::format(
                            ErrorCode::EConnection,
                            format!("EHLO failed but HELO does not support required STARTTLS. response={text}"),
                            Some(&text),
                            Some("EHLO"),
                        ));
                    }
                    let r = self.command(Command::Helo(&name)).await?;
                    if !r.is_positive() {
                        let text = r.text();
                        return Err(SmtpError::format(
                            ErrorCode::EProtocol,
                            format!("Invalid HELO. response={text}"),
                            Some(&text),
                            Some("HELO"),
                        ));
                    }
                    // nodemailer assumes AUTH is possible after HELO
                    self.allows_auth = true;
                    return Ok(());
                }
            }

            let starttls = Capabilities::parse(&text).starttls;
            if !self.secure && !self.opts.ignore_tls && (starttls || self.opts.require_tls) {
                // EHLO capabilities are deliberately not kept: they are re-read after TLS
                let r = self.command(Command::StartTls).await?;
                if !r.is_positive() {
                    if self.opts.opportunistic_tls {
                        self.logger.log(
                            Level::Info,
                            "smtp",
                            "Failed STARTTLS upgrade, continuing unencrypted",
                            Details::default,
                        );
                        return Ok(());
                    }
                    let text = r.text();
                    return Err(SmtpError::format(
                        ErrorCode::ETls,
                        "Error upgrading connection with STARTTLS",
                        Some(&text),
                        Some("STARTTLS"),
                    ));
                }
                self.upgrade().await?;
                continue;
            }

            self.caps = Capabilities::parse(&text);
            self.allows_auth = self.caps.allows_auth;
            self.used_ehlo = true;
            return Ok(());
        }
    }

    /// STARTTLS upgrade: discards buffered plaintext (RFC 3207 section 5), handshakes within
    /// `socket_timeout`.
    async fn upgrade(&mut self) -> Result<(), SmtpError> {
        self.parser.clear();
        self.upgrading = true;
        let cfg = tls::client_config(&self.opts.tls, "STARTTLS")?;
        let name = tls::server_name(&self.opts.tls, &self.opts.host, "STARTTLS")?;
        let checked_name = name.clone();
        let plain = match std::mem::replace(&mut self.io, net::Stream::Closed) {
            net::Stream::Closed => {
                self.upgrading = false;
                return Err(tls::tls_error("connection is not plain TCP", "STARTTLS"));
            }
            plain => plain,
        };
        let opts = &self.opts;
        let res = timeout(opts.socket_timeout, async {
            let s = tls::connect(cfg, name, plain)
                .await
                .map_err(|e| tls::handshake_error(e, "STARTTLS"))?;
            tls::check_identity(&opts.tls, &checked_name, &s).await?;
            Ok::<_, SmtpError>(s)
        })
        .await;
        self.upgrading = false;
        match res {
            Ok(Ok(s)) => {
                self.io = s;
                self.secure = true;
                self.logger.log(
                    Level::Info,
                    "smtp",
                    "Connection upgraded with STARTTLS",
                    Details::default,
                );
                Ok(())
            }
            Ok(Err(e)) => {
                self.broken = true;
                Err(e)
            }
            Err(_) => {
                self.broken = true;
                Err(timeout_error())
            }
        }
    }

    // ------------------------------------------------------------ I/O

    /// Next complete reply; errors on timeout, socket error or close.
    async fn read_reply(&mut self) -> Result<Reply, SmtpError> {
        loop {
            if let Some(r) = self.parser.next_reply() {
                if self.logger.debug {
                    self.logger.transcript("server", &r.text());
                }
                return Ok(r);
            }
            let read = timeout(self.opts.socket_timeout, self.io.read(&mut self.read_buf)).await;
            let n = match read {
                Err(_) => {
                    self.broken = true;
                    return Err(timeout_error());
                }
                // a TLS peer that closes without close_notify is a plain close here
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
                Ok(Err(e)) => {
                    self.broken = true;
                    return Err(socket_error(&e, "read", None));
                }
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                self.broken = true;
                let code = if self.upgrading {
                    ErrorCode::ETls
                } else {
                    ErrorCode::EConnection
                };
                let pending = self.parser.pending_text();
                return Err(SmtpError::format(
                    code,
                    "Connection closed unexpectedly",
                    pending.as_deref(),
                    Some("CONN"),
                ));
            }
            if let Err(e) = self.parser.feed(&self.read_buf[..n]) {
                self.broken = true;
                return Err(e);
            }
        }
    }

    async fn write_bytes(&mut self, data: &[u8]) -> Result<(), SmtpError> {
        let res = timeout(self.opts.socket_timeout, async {
            self.io.write_all(data).await?;
            self.io.flush().await
        })
        .await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.broken = true;
                Err(socket_error(&e, "write", None))
            }
            Err(_) => {
                self.broken = true;
                Err(timeout_error())
            }
        }
    }

    /// A reply nobody asked for is nodemailer's "Unexpected Response".
    fn check_unexpected(&mut self) -> Result<(), SmtpError> {
        if let Some(r) = self.parser.next_reply() {
            self.broken = true;
            let text = r.text();
            return Err(SmtpError::format(
                ErrorCode::EProtocol,
                "Unexpected Response",
                Some(&text),
                Some("CONN"),
            ));
        }
        Ok(())
    }

    /// Writes commands back to back (one write), each logged in its transcript form.
    async fn write_commands(&mut self, commands: &[Command<'_>]) -> Result<(), SmtpError> {
        self.check_unexpected()?;
        let mut buf = String::with_capacity(64 * commands.len());
        for c in commands {
            let start = buf.len();
            // writing into a String cannot fail
            let _ = write!(buf, "{c}");
            if self.logger.debug {
                match c.masked() {
                    Some(shown) => self.logger.transcript("client", &shown),
                    None => self.logger.transcript("client", &buf[start..]),
                }
            }
            buf.push_str("\r\n");
        }
        self.write_bytes(buf.as_bytes()).await
    }

    /// Sends one command and reads its reply.
    async fn command(&mut self, command: Command<'_>) -> Result<Reply, SmtpError> {
        self.write_commands(&[command]).await?;
        self.read_reply().await
    }

    fn destroyed_error(&self, op: &str) -> Option<SmtpError> {
        if self.broken || matches!(self.io, net::Stream::Closed) {
            Some(SmtpError::format(
                ErrorCode::EConnection,
                format!("Cannot {op} - smtp connection is already destroyed."),
                None,
                Some("API"),
            ))
        } else {
            None
        }
    }

    // ------------------------------------------------------------ accessors

    /// `info.ehlo`: EHLO lines without codes and without the greeting-name line
    /// (empty after HELO).
    pub fn ehlo(&self) -> &[String] {
        &self.caps.ehlo_lines
    }

    /// [`Self::ehlo`], shared rather than copied.
    pub fn ehlo_shared(&self) -> Arc<[String]> {
        self.caps.ehlo_lines.clone()
    }

    /// Whether EHLO/LHLO (rather than HELO, or an unparsed failed-STARTTLS session) set the
    /// capabilities: nodemailer includes `info.ehlo` only then.
    pub fn used_ehlo(&self) -> bool {
        self.used_ehlo
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn allows_auth(&self) -> bool {
        self.allows_auth
    }

    pub fn is_secure(&self) -> bool {
        self.secure
    }

    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Whether the session is still usable (no transport-level failure so far).
    pub fn is_usable(&self) -> bool {
        self.destroyed_error("use").is_none()
    }

    /// For a pooled session between transactions: polls the socket once without waiting.
    /// Any unsolicited byte (e.g. a `421` idle-timeout notice), EOF or socket error means the
    /// server dropped or is dropping the session, which is then marked unusable. Used by the
    /// pool before reusing an idle connection, so the message goes to a fresh one instead.
    pub fn check_idle(&mut self) -> bool {
        if !self.is_usable() {
            return false;
        }
        // a reply already parsed but never asked for is as bad as one still on the wire
        if self.parser.next_reply().is_some() {
            self.broken = true;
            return false;
        }
        let read = futures_util::FutureExt::now_or_never(self.io.read(&mut self.read_buf));
        match read {
            // nothing to read: the normal idle state
            None => true,
            Some(_) => {
                self.broken = true;
                false
            }
        }
    }

    /// `SIZE n` from EHLO, n > 0.
    pub fn max_size(&self) -> Option<u64> {
        self.caps.max_size
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    // ------------------------------------------------------------ AUTH

    /// Authenticates, with the XOAUTH2 renew-and-retry flow of lib/smtp-connection.
    pub async fn login(&mut self, auth: &AuthOptions) -> Result<(), SmtpError> {
        if let Some(e) = self.destroyed_error("login") {
            return Err(e);
        }
        let forced = auth
            .method
            .as_deref()
            .map(|m| m.trim().to_uppercase())
            .filter(|m| !m.is_empty());
        let oauth = match &auth.credentials {
            Some(Credentials::XOAuth2(p)) => Some(p.clone()),
            _ => None,
        };
        let custom = auth.custom.clone();
        let handles = |m: &str| custom.as_ref().is_some_and(|c| c.0.handles(m));
        // XOAUTH2 needs a token provider or a custom handler: without either it is skipped even
        // when it is the only mechanism advertised (nodemailer's `login`)
        let can_xoauth2 = oauth.is_some() || handles("XOAUTH2");
        let first_supported = || {
            self.caps
                .auth_methods
                .iter()
                .find(|m| *m != "XOAUTH2" || can_xoauth2)
                .cloned()
                .unwrap_or_else(|| "PLAIN".to_string())
        };
        let method = match forced {
            None if oauth.is_some() => "XOAUTH2".to_string(),
            None => first_supported(),
            Some(m) if m == "XOAUTH2" && oauth.is_none() => first_supported(),
            Some(m) => m,
        };
        let user_for_log = auth
            .credentials
            .as_ref()
            .map(Credentials::user)
            .unwrap_or_default();

        let res = if let Some(handler) = custom.filter(|c| c.0.handles(&method)) {
            // a custom handler gets whatever user and pass there are, even none
            let (user, pass) = match &auth.credentials {
                Some(Credentials::Login { user, pass }) => (user.clone(), pass.clone()),
                Some(Credentials::XOAuth2(p)) => (p.user(), String::new()),
                None => (String::new(), String::new()),
            };
            self.auth_custom(&handler, &method, user, pass).await
        } else if method == "XOAUTH2" {
            match oauth {
                Some(p) => self.auth_xoauth2(p).await,
                // unreachable by the selection above; kept total rather than panicking
                None => Err(missing_credentials(&method)),
            }
        } else {
            let (user, pass) = match &auth.credentials {
                Some(Credentials::Login { user, pass }) if !user.is_empty() && !pass.is_empty() => {
                    (user.clone(), pass.clone())
                }
                _ => return Err(missing_credentials(&method)),
            };
            match method.as_str() {
                "PLAIN" => {
                    let r = self
                        .command(Command::AuthPlain {
                            user: &user,
                            pass: &pass,
                        })
                        .await?;
                    self.auth_complete(r, false, &method, None).await
                }
                "LOGIN" => self.auth_login(&user, &pass).await,
                "CRAM-MD5" => self.auth_cram_md5(&user, &pass).await,
                other => {
                    return Err(SmtpError::format(
                        ErrorCode::EAuth,
                        format!("Unknown authentication method \"{other}\""),
                        None,
                        Some("API"),
                    ))
                }
            }
        };
        match &res {
            Ok(()) => {
                self.authenticated = true;
                self.logger
                    .log(Level::Info, "smtp", "User %s authenticated", || {
                        auth_details(&user_for_log, "authenticated", &method)
                    });
            }
            Err(_) => self.logger.log(
                Level::Info,
                "smtp",
                "User %s failed to authenticate",
                || auth_details(&user_for_log, "authfail", &method),
            ),
        }
        res
    }

    async fn auth_login(&mut self, user: &str, pass: &str) -> Result<(), SmtpError> {
        let is_334 = |r: &Reply| r.starts_with("334 ") || r.starts_with("334-");
        let r = self.command(Command::AuthLogin).await?;
        if !is_334(&r) {
            return Err(auth_error(
                "Invalid login sequence while waiting for \"334 VXNlcm5hbWU6\"",
                &r,
                "AUTH LOGIN",
            ));
        }
        let r = self.command(Command::LoginUser(user)).await?;
        if !is_334(&r) {
            return Err(auth_error(
                "Invalid login sequence while waiting for \"334 UGFzc3dvcmQ6\"",
                &r,
                "AUTH LOGIN",
            ));
        }
        let r = self.command(Command::LoginPass(pass)).await?;
        self.auth_complete(r, false, "LOGIN", None).await
    }

    async fn auth_cram_md5(&mut self, user: &str, pass: &str) -> Result<(), SmtpError> {
        let r = self.command(Command::AuthCramMd5).await?;
        let text = r.text();
        // /^334\s+(.+)$/ on the whole reply: a single line only
        let challenge = text
            .strip_prefix("334")
            .filter(|rest| rest.starts_with(char::is_whitespace) && !rest.contains('\n'))
            .map(str::trim_start)
            .filter(|c| !c.is_empty());
        let challenge = match challenge {
            Some(c) => c.to_string(),
            None => {
                return Err(auth_error(
                    "Invalid login sequence while waiting for server challenge string",
                    &r,
                    "AUTH CRAM-MD5",
                ))
            }
        };
        let r = self
            .command(Command::CramMd5Answer {
                user,
                pass,
                challenge: &challenge,
            })
            .await?;
        let ok = r
            .text()
            .strip_prefix("235")
            .is_some_and(|rest| rest.starts_with(char::is_whitespace));
        if !ok {
            return Err(auth_error(
                "Invalid login sequence while waiting for \"235\"",
                &r,
                "AUTH CRAM-MD5",
            ));
        }
        Ok(())
    }

    /// A mechanism of the user's own: the handler writes the lines and reads the replies
    /// through the connection, then resolves or rejects. Each wait for the handler's next
    /// request is bounded by `socket_timeout`, as the socket's idle timer bounds it in
    /// nodemailer.
    async fn auth_custom(
        &mut self,
        handler: &auth::CustomAuthHandle,
        method: &str,
        user: String,
        pass: String,
    ) -> Result<(), SmtpError> {
        let c = &self.caps;
        let extensions = [
            (c.smtputf8, "SMTPUTF8"),
            (c.dsn, "DSN"),
            (c.eight_bit_mime, "8BITMIME"),
            (c.requiretls, "REQUIRETLS"),
            (c.pipelining, "PIPELINING"),
            (c.size, "SIZE"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_string())
        .collect();
        let ctx = auth::CustomAuthContext {
            method: method.to_string(),
            user,
            pass,
            extensions,
            auth_methods: c.auth_methods.clone(),
            max_allowed_size: c.max_size,
        };
        let mut steps = handler.0.start(ctx);
        let command = format!("AUTH {method}");
        // the reply to the handler's last command goes into its rejection, as in nodemailer
        let mut last: Option<String> = None;
        loop {
            let step = match timeout(self.opts.socket_timeout, steps.recv()).await {
                Err(_) => {
                    self.broken = true;
                    return Err(timeout_error());
                }
                Ok(None) => {
                    return Err(SmtpError::format(
                        ErrorCode::EAuth,
                        "Authentication handler ended without resolving",
                        last.as_deref(),
                        Some(&command),
                    ))
                }
                Ok(Some(step)) => step,
            };
            match step {
                auth::CustomAuthStep::Command { line, reply } => {
                    match self.command(Command::Custom(&line)).await {
                        Ok(r) => {
                            let text = r.text();
                            last = Some(text.clone());
                            let _ = reply.send(Ok(text));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e.clone()));
                            return Err(e);
                        }
                    }
                }
                auth::CustomAuthStep::Resolve => return Ok(()),
                auth::CustomAuthStep::Reject { message } => {
                    return Err(SmtpError::format(
                        ErrorCode::EAuth,
                        message,
                        last.as_deref(),
                        Some(&command),
                    ))
                }
            }
        }
    }

    /// XOAUTH2 with nodemailer's one-time renew after a `334` challenge.
    async fn auth_xoauth2(&mut self, provider: Arc<dyn TokenProvider>) -> Result<(), SmtpError> {
        let r = self.send_xoauth2(&provider, false).await?;
        self.auth_complete(r, false, "XOAUTH2", Some(provider))
            .await
    }

    async fn send_xoauth2(
        &mut self,
        provider: &Arc<dyn TokenProvider>,
        renew: bool,
    ) -> Result<Reply, SmtpError> {
        let token = match timeout(self.opts.socket_timeout, provider.token(renew)).await {
            Err(_) => return Err(timeout_error()),
            Ok(Err(mut e)) => {
                // nodemailer rewrites the token error's code and command, keeps its message
                e.code = ErrorCode::EAuth;
                e.command = Some("AUTH XOAUTH2".to_string());
                return Err(e);
            }
            Ok(Ok(t)) => t,
        };
        let user = provider.user();
        self.command(Command::AuthXOAuth2 {
            user: &user,
            token: &token,
        })
        .await
    }

    /// nodemailer's `_actionAUTHComplete`: a `334` gets an empty line; for a first XOAUTH2
    /// attempt the next reply (whatever it is) triggers one renew-and-retry.
    async fn auth_complete(
        &mut self,
        mut r: Reply,
        mut is_retry: bool,
        method: &str,
        provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<(), SmtpError> {
        let mut rounds = 0;
        loop {
            if r.starts_with("334") && rounds < MAX_334_ROUNDS {
                rounds += 1;
                let next = self.command(Command::AuthContinue).await?;
                match (&provider, is_retry) {
                    (Some(p), false) if method == "XOAUTH2" => {
                        r = self.send_xoauth2(p, true).await?;
                        is_retry = true;
                    }
                    _ => {
                        r = next;
                        is_retry = true;
                    }
                }
                continue;
            }
            if !r.is_positive() {
                return Err(auth_error("Invalid login", &r, &format!("AUTH {method}")));
            }
            return Ok(());
        }
    }

    // ------------------------------------------------------------ send

    /// MAIL FROM, RCPT TO (pipelined when advertised), DATA, body, final reply(ies).
    pub async fn send<S>(&mut self, env: &Envelope, mut body: S) -> Result<SendInfo, SmtpError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
    {
        if let Some(e) = self.destroyed_error("send message") {
            return Err(e);
        }
        if let (Some(max), Some(size)) = (self.caps.max_size, env.size) {
            if size > max {
                return Err(SmtpError::format(
                    ErrorCode::EMessage,
                    format!("Message size larger than allowed {max}"),
                    None,
                    Some("MAIL FROM"),
                ));
            }
        }
        let start = Instant::now();
        let prepared = envelope::prepare(env)?;
        if env.require_tls_extension {
            if !self.secure {
                return Err(SmtpError::format(
                    ErrorCode::ERequireTls,
                    "REQUIRETLS can only be used over TLS connections (RFC 8689)",
                    None,
                    Some("MAIL FROM"),
                ));
            }
            if !self.caps.requiretls {
                return Err(SmtpError::format(
                    ErrorCode::ERequireTls,
                    "Server does not support REQUIRETLS extension (RFC 8689)",
                    None,
                    Some("MAIL FROM"),
                ));
            }
        }

        let (mail, smtputf8) = envelope::mail_from_command(&prepared, env, &self.caps);
        let rcpts: Vec<Command<'_>> = prepared
            .to
            .iter()
            .map(|t| Command::Rcpt(envelope::rcpt_to_command(t, &prepared, &self.caps)))
            .collect();
        // With PIPELINING, MAIL FROM, every RCPT TO and DATA go in one write and their replies
        // are read in order (RFC 2920, as Postfix's client does): one round trip instead of
        // 2 + recipients (nodemailer 10.6.1 pipelines them too). Any failure below ends the
        // transaction with an error, and callers drop a connection after an error, so replies
        // left unread then never confuse a later message.
        let pipelined = self.caps.pipelining;
        let r = if pipelined {
            let mut batch = Vec::with_capacity(rcpts.len() + 2);
            batch.push(Command::Mail(mail));
            batch.extend(rcpts.iter().cloned());
            batch.push(Command::Data);
            self.write_commands(&batch).await?;
            self.read_reply().await?
        } else {
            self.command(Command::Mail(mail)).await?
        };
        if r.first_char() != Some('2') {
            let msg = if smtputf8 && r.starts_with("550 ") && !prepared.from.is_ascii() {
                "Internationalized mailbox name not allowed"
            } else {
                "Mail command failed"
            };
            let text = r.text();
            return Err(SmtpError::format(
                ErrorCode::EEnvelope,
                msg,
                Some(&text),
                Some("MAIL FROM"),
            ));
        }

        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        let mut rejected_errors = Vec::new();
        let mut last_reply = String::new();
        let mut handle_rcpt = |rcpt: &String, r: Reply| {
            let text = r.text();
            if r.first_char() == Some('2') {
                accepted.push(rcpt.clone());
            } else {
                let msg = if smtputf8 && r.starts_with("553 ") && !rcpt.is_ascii() {
                    "Internationalized mailbox name not allowed"
                } else {
                    "Recipient command failed"
                };
                let mut e =
                    SmtpError::format(ErrorCode::EEnvelope, msg, Some(&text), Some("RCPT TO"));
                e.recipient = Some(rcpt.clone());
                rejected.push(rcpt.clone());
                rejected_errors.push(e);
            }
            last_reply = text;
        };
        if pipelined {
            for rcpt in &prepared.to {
                let r = self.read_reply().await?;
                handle_rcpt(rcpt, r);
            }
        } else {
            for (rcpt, command) in prepared.to.iter().zip(rcpts) {
                let r = self.command(command).await?;
                handle_rcpt(rcpt, r);
            }
        }
        if rejected.len() >= prepared.to.len() {
            if pipelined {
                // The DATA reply is owed too (a refusal: no valid recipients); the session is
                // dropped after this error either way.
                self.broken = true;
            }
            let mut e = SmtpError::format(
                ErrorCode::EEnvelope,
                "Can't send mail - all recipients were rejected",
                Some(&last_reply),
                Some("RCPT TO"),
            );
            e.rejected = rejected;
            e.rejected_errors = rejected_errors;
            return Err(e);
        }

        let r = if pipelined {
            self.read_reply().await?
        } else {
            self.command(Command::Data).await?
        };
        if !matches!(r.first_char(), Some('2') | Some('3')) {
            let text = r.text();
            return Err(SmtpError::format(
                ErrorCode::EEnvelope,
                "Data command failed",
                Some(&text),
                Some("DATA"),
            ));
        }
        let envelope_done = Instant::now();

        let message_size = self.write_body(&mut body).await?;

        let response = if self.opts.lmtp {
            // one reply per accepted recipient, in order; failures move to `rejected`
            let mut last = String::new();
            for rcpt in accepted.clone() {
                let r = self.read_reply().await?;
                let text = r.text();
                if r.first_char() != Some('2') {
                    let mut e = SmtpError::format(
                        ErrorCode::EMessage,
                        format!("Message failed for recipient {rcpt}"),
                        Some(&text),
                        Some("DATA"),
                    );
                    e.recipient = Some(rcpt.clone());
                    rejected.push(rcpt.clone());
                    rejected_errors.push(e);
                    accepted.retain(|a| *a != rcpt);
                }
                last = text;
            }
            last
        } else {
            let r = self.read_reply().await?;
            let text = r.text();
            if r.first_char() != Some('2') {
                return Err(SmtpError::format(
                    ErrorCode::EMessage,
                    "Message failed",
                    Some(&text),
                    Some("DATA"),
                ));
            }
            text
        };

        Ok(SendInfo {
            accepted,
            rejected,
            rejected_errors,
            envelope_time: envelope_done.duration_since(start).as_millis() as u64,
            message_time: envelope_done.elapsed().as_millis() as u64,
            message_size,
            response,
        })
    }

    /// Streams the body through the dot-stuffer in writes of about 64 KiB; the last one
    /// carries the terminator. A small message is a single write.
    async fn write_body<S>(&mut self, body: &mut S) -> Result<u64, SmtpError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
    {
        let mut stuffer = DotStuffer::new();
        // grows to a slice only for large bodies: most messages are a few KB
        let mut pending: Vec<u8> = Vec::with_capacity(4096);
        loop {
            let next = match timeout(self.opts.socket_timeout, body.next()).await {
                Err(_) => {
                    self.broken = true;
                    return Err(timeout_error());
                }
                Ok(n) => n,
            };
            match next {
                Some(Ok(chunk)) => {
                    for slice in chunk.chunks(BODY_SLICE) {
                        // Small chunks (a message's headers, then its text) collect into one
                        // write; only a full slice goes out before the body ends.
                        if pending.len() >= BODY_SLICE {
                            self.write_body_piece(&pending).await?;
                            pending.clear();
                        }
                        stuffer.transform(slice, &mut pending);
                    }
                }
                Some(Err(e)) => {
                    // the server is mid-DATA: this session cannot be reused
                    self.broken = true;
                    return Err(SmtpError::format(
                        ErrorCode::EStream,
                        e.to_string(),
                        None,
                        Some("API"),
                    ));
                }
                None => break,
            }
        }
        let body_end = pending.len();
        stuffer.finish(&mut pending);
        if self.logger.debug {
            // nodemailer's transcript has the message, then the terminating dot on its own
            if body_end > 0 {
                self.log_body(&pending[..body_end]);
            }
            self.logger.transcript("message", ".");
        }
        self.write_bytes(&pending).await?;
        let (out_bytes, in_bytes) = (stuffer.out_bytes(), stuffer.in_bytes());
        self.logger.log(
            Level::Info,
            "message",
            "<%s bytes encoded mime message (source size %s bytes)>",
            || {
                Details::args([out_bytes.to_string(), in_bytes.to_string()])
                    .field(Field::Num("inByteCount", in_bytes))
                    .field(Field::Num("outByteCount", out_bytes))
            },
        );
        Ok(out_bytes)
    }

    fn log_body(&self, piece: &[u8]) {
        let text = String::from_utf8_lossy(piece);
        self.logger
            .transcript("message", text.trim_end_matches(['\r', '\n']));
    }

    async fn write_body_piece(&mut self, piece: &[u8]) -> Result<(), SmtpError> {
        if self.logger.debug {
            self.log_body(piece);
        }
        self.write_bytes(piece).await
    }

    // ------------------------------------------------------------ RSET / QUIT / close

    /// `RSET`; a non-2xx reply is EPROTOCOL.
    pub async fn reset(&mut self) -> Result<(), SmtpError> {
        if let Some(e) = self.destroyed_error("reset") {
            return Err(e);
        }
        let r = self.command(Command::Rset).await?;
        if !r.is_positive() {
            let text = r.text();
            return Err(SmtpError::format(
                ErrorCode::EProtocol,
                format!("Could not reset session state. response={text}"),
                Some(&text),
                Some("RSET"),
            ));
        }
        Ok(())
    }

    /// Sends QUIT, waits (bounded) for the reply and for the server to close, then closes.
    /// Errors are ignored: the session is over either way. When this returns, the server has
    /// ended the session (or the wait ran out), so a server that limits connections per client
    /// (Postfix's `smtpd_client_connection_count_limit`) no longer counts it.
    pub async fn quit(mut self) {
        if !self.broken {
            let wait = self.opts.socket_timeout.min(QUIT_WAIT);
            let done = timeout(wait, async {
                if self.write_commands(&[Command::Quit]).await.is_err()
                    || self.read_reply().await.is_err()
                {
                    return false;
                }
                // RFC 5321 4.1.1.10: the server closes after its 221. Our FIN first, for a
                // server that waits for it; then its close (EOF, or any error).
                self.logger.log(
                    Level::Debug,
                    "smtp",
                    "Closing connection to the server using \"%s\"",
                    || Details::args(["end".to_string()]),
                );
                let _ = self.io.shutdown().await;
                let mut buf = [0u8; 512];
                while matches!(self.io.read(&mut buf).await, Ok(n) if n > 0) {}
                true
            })
            .await;
            if done == Ok(true) {
                return;
            }
        }
        self.close().await;
    }

    /// Plain close (TLS close_notify + FIN), no QUIT.
    pub async fn close(mut self) {
        self.logger.log(
            Level::Debug,
            "smtp",
            "Closing connection to the server using \"%s\"",
            || Details::args(["end".to_string()]),
        );
        // nodemailer logs "Connection closed" only when the server closes the socket, not
        // after closing it itself
        let _ = timeout(Duration::from_secs(1), self.io.shutdown()).await;
    }
}

/// nodemailer's fields of the authenticated / authfail records.
fn auth_details(user: &str, action: &str, method: &str) -> Details {
    Details::args([envelope::json_string(user)])
        .field(Field::Str("username", user.to_string()))
        .field(Field::Str("action", action.to_string()))
        .field(Field::Str("method", method.to_string()))
}

fn missing_credentials(method: &str) -> SmtpError {
    SmtpError::format(
        ErrorCode::EAuth,
        format!("Missing credentials for \"{method}\""),
        None,
        Some("API"),
    )
}

fn auth_error(message: &str, r: &Reply, command: &str) -> SmtpError {
    let text = r.text();
    SmtpError::format(ErrorCode::EAuth, message, Some(&text), Some(command))
}
