//! One SMTP/LMTP session, the state machine of nodemailer's lib/smtp-connection: a stream from
//! `net`, the greeting, EHLO/LHLO (HELO fallback), the STARTTLS decision and upgrade, then
//! `login` (in `connection/login.rs`) and any number of `send` transactions (in
//! `connection/transaction.rs`), RSET between them, and QUIT.
//!
//! Request/response with an explicit reply parser (the model is lettre's async connection
//! and mini-redis's buffered frame reader); commands are `command::Command` values. Every
//! socket read and write, and every wait on the body stream or a token provider, is bounded
//! by `socket_timeout`. A new step of the session (a new extension's command) is a method
//! here, or in `login`/`transaction` when it belongs to authentication or to a message.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use crate::capabilities::Capabilities;
use crate::command::Command;
use crate::error::{socket_error, ErrorCode, SmtpError};
use crate::log::{Details, Level, Logger};
use crate::net::{self, tls};
use crate::options::ConnectOptions;
use crate::reply::{Reply, ReplyParser};

mod login;
mod transaction;

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

    /// EHLO/LHLO, HELO fallback and STARTTLS, as lib/smtp-connection. After a STARTTLS
    /// upgrade the greeting command goes again and the capabilities are read afresh: those
    /// advertised before TLS are deliberately not kept.
    async fn handshake(&mut self) -> Result<(), SmtpError> {
        loop {
            let name = self.name.clone();
            let text = if self.opts.lmtp {
                self.send_lhlo(&name).await?
            } else {
                match self.send_ehlo(&name).await? {
                    Some(text) => text,
                    None => return self.send_helo(&name).await,
                }
            };
            let starttls = Capabilities::parse(&text).starttls;
            if !self.secure && !self.opts.ignore_tls && (starttls || self.opts.require_tls) {
                if self.starttls().await? {
                    continue;
                }
                return Ok(());
            }
            self.caps = Capabilities::parse(&text);
            self.allows_auth = self.caps.allows_auth;
            self.used_ehlo = true;
            return Ok(());
        }
    }

    /// LHLO; the reply's text when accepted.
    async fn send_lhlo(&mut self, name: &str) -> Result<String, SmtpError> {
        let r = self.command(Command::Lhlo(name)).await?;
        let text = r.text();
        if !r.is_positive() {
            return Err(SmtpError::format(
                ErrorCode::EProtocol,
                format!("Invalid LHLO. response={text}"),
                Some(&text),
                Some("LHLO"),
            ));
        }
        Ok(text)
    }

    /// EHLO; the reply's text when accepted, `None` when HELO should be tried instead.
    async fn send_ehlo(&mut self, name: &str) -> Result<Option<String>, SmtpError> {
        let r = self.command(Command::Ehlo(name)).await?;
        let text = r.text();
        if r.starts_with("421") {
            return Err(SmtpError::format(
                ErrorCode::EConnection,
                format!("Server terminates connection. response={text}"),
                Some(&text),
                Some("EHLO"),
            ));
        }
        if r.is_positive() {
            return Ok(Some(text));
        }
        if self.opts.require_tls {
            return Err(SmtpError::format(
                ErrorCode::EConnection,
                format!("EHLO failed but HELO does not support required STARTTLS. response={text}"),
                Some(&text),
                Some("EHLO"),
            ));
        }
        Ok(None)
    }

    /// HELO after a refused EHLO: no extensions, no STARTTLS.
    async fn send_helo(&mut self, name: &str) -> Result<(), SmtpError> {
        let r = self.command(Command::Helo(name)).await?;
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
        Ok(())
    }

    /// STARTTLS and the upgrade; `false` when the server refused and `opportunisticTLS` lets
    /// the session go on unencrypted.
    async fn starttls(&mut self) -> Result<bool, SmtpError> {
        let r = self.command(Command::StartTls).await?;
        if !r.is_positive() {
            if self.opts.opportunistic_tls {
                self.logger.log(
                    Level::Info,
                    "smtp",
                    "Failed STARTTLS upgrade, continuing unencrypted",
                    Details::default,
                );
                return Ok(false);
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
        Ok(true)
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
