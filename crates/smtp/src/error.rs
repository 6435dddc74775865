//! Errors carrying nodemailer's `code`, `response`, `responseCode` and `command` fields.
//!
//! [`SmtpError`] is also the one error shape the addon hands to JS (src/binding/errors.rs):
//! errors from composition, sendmail or fetches become one with their own code
//! ([`ErrorCode::Other`]), so every JS error is built from the same fields in one place.

use std::fmt;

/// nodemailer's error codes (`lib/errors.js`): the ones the SMTP engine produces, by name, and
/// any other (`Other`) for errors that reach the same JS error shape from elsewhere
/// (composition, file and URL access, sendmail, OAuth2). Two codes are equal when their
/// strings are: `Other("EAUTH")` is `EAuth`.
#[derive(Debug, Clone, Copy)]
pub enum ErrorCode {
    EConnection,
    ETimedOut,
    ESocket,
    EDns,
    ETls,
    ERequireTls,
    EProtocol,
    EEnvelope,
    EMessage,
    EStream,
    EAuth,
    ENoAuth,
    EOAuth2,
    EConfig,
    EMaxLimit,
    EProxy,
    Other(&'static str),
}

impl ErrorCode {
    /// The named codes, for [`ErrorCode::named`].
    const NAMED: [ErrorCode; 16] = [
        ErrorCode::EConnection,
        ErrorCode::ETimedOut,
        ErrorCode::ESocket,
        ErrorCode::EDns,
        ErrorCode::ETls,
        ErrorCode::ERequireTls,
        ErrorCode::EProtocol,
        ErrorCode::EEnvelope,
        ErrorCode::EMessage,
        ErrorCode::EStream,
        ErrorCode::EAuth,
        ErrorCode::ENoAuth,
        ErrorCode::EOAuth2,
        ErrorCode::EConfig,
        ErrorCode::EMaxLimit,
        ErrorCode::EProxy,
    ];

    /// The code whose string is `code`: a named one when there is one, else `Other(code)`.
    pub fn named(code: &'static str) -> ErrorCode {
        ErrorCode::NAMED
            .into_iter()
            .find(|c| c.as_str() == code)
            .unwrap_or(ErrorCode::Other(code))
    }

    /// The string nodemailer puts in `err.code`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::EConnection => "ECONNECTION",
            ErrorCode::ETimedOut => "ETIMEDOUT",
            ErrorCode::ESocket => "ESOCKET",
            ErrorCode::EDns => "EDNS",
            ErrorCode::ETls => "ETLS",
            ErrorCode::ERequireTls => "EREQUIRETLS",
            ErrorCode::EProtocol => "EPROTOCOL",
            ErrorCode::EEnvelope => "EENVELOPE",
            ErrorCode::EMessage => "EMESSAGE",
            ErrorCode::EStream => "ESTREAM",
            ErrorCode::EAuth => "EAUTH",
            ErrorCode::ENoAuth => "ENOAUTH",
            ErrorCode::EOAuth2 => "EOAUTH2",
            ErrorCode::EConfig => "ECONFIG",
            ErrorCode::EMaxLimit => "EMAXLIMIT",
            ErrorCode::EProxy => "EPROXY",
            ErrorCode::Other(code) => code,
        }
    }
}

impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorCode {}

impl std::hash::Hash for ErrorCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error shaped like the `Error` objects nodemailer hands to callbacks.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpError {
    pub code: ErrorCode,
    /// Full message; when a server reply is involved it already ends in `": " + response`.
    pub message: String,
    pub response: Option<String>,
    pub response_code: Option<u16>,
    pub command: Option<String>,
    pub recipient: Option<String>,
    pub rejected: Vec<String>,
    pub rejected_errors: Vec<SmtpError>,
    /// Node-style errno name of an underlying OS error, e.g. `"ECONNREFUSED"`.
    pub errno: Option<String>,
    pub syscall: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
}

impl SmtpError {
    /// A bare error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SmtpError {
            code,
            message: message.into(),
            response: None,
            response_code: None,
            command: None,
            recipient: None,
            rejected: Vec::new(),
            rejected_errors: Vec::new(),
            errno: None,
            syscall: None,
            address: None,
            port: None,
        }
    }

    /// nodemailer's `_formatError(message, code, response, command)`: appends
    /// `": " + response` to the message and derives `responseCode` from the
    /// response's leading digits (absent when they are missing or zero).
    pub fn format(
        code: ErrorCode,
        message: impl Into<String>,
        response: Option<&str>,
        command: Option<&str>,
    ) -> Self {
        let mut err = SmtpError::new(code, message);
        if let Some(resp) = response.filter(|r| !r.is_empty()) {
            err.message.push_str(": ");
            err.message.push_str(resp);
            err.response = Some(resp.to_string());
            err.response_code = leading_code(resp);
        }
        err.command = command.map(str::to_string);
        err
    }

    /// Sets `command` (builder style).
    pub fn with_command(mut self, command: &str) -> Self {
        self.command = Some(command.to_string());
        self
    }
}

/// `Number((response.match(/^\d+/) || [])[0]) || false`, limited to u16.
pub(crate) fn leading_code(resp: &str) -> Option<u16> {
    let digits: String = resp.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse::<u16>().ok().filter(|c| *c != 0)
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SmtpError {}

/// Node's errno name for an OS error, as used in `err.code`/`err.errno` by Node sockets.
pub(crate) fn errno_name(err: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::ConnectionReset => "ECONNRESET",
        K::ConnectionAborted => "ECONNABORTED",
        K::NotConnected => "ENOTCONN",
        K::AddrInUse => "EADDRINUSE",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::BrokenPipe => "EPIPE",
        K::TimedOut => "ETIMEDOUT",
        K::PermissionDenied => "EACCES",
        K::HostUnreachable => "EHOSTUNREACH",
        K::NetworkUnreachable => "ENETUNREACH",
        K::NetworkDown => "ENETDOWN",
        K::UnexpectedEof => "ECONNRESET",
        _ => "EIO",
    }
}

/// An error the stream's maker reported (a JS socket's `error` event): its own message and
/// code reach the SMTP error as they are, rather than an errno the engine would guess.
#[derive(Debug, Clone)]
pub struct ExternalError {
    pub message: String,
    pub code: Option<String>,
}

impl fmt::Display for ExternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExternalError {}

impl ExternalError {
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

/// A socket-level error as Node reports it, re-coded `ESOCKET` as nodemailer does
/// (message e.g. `"connect ECONNREFUSED 127.0.0.1:1"`).
pub(crate) fn socket_error(
    err: &std::io::Error,
    syscall: &str,
    addr: Option<std::net::SocketAddr>,
) -> SmtpError {
    // a stream made outside the engine reports its own message and code
    if let Some(ext) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<ExternalError>())
    {
        let mut e = SmtpError::new(ErrorCode::ESocket, ext.message.clone()).with_command("CONN");
        e.errno = ext.code.clone();
        e.syscall = Some(syscall.to_string());
        return e;
    }
    let errno = errno_name(err);
    let message = match addr {
        Some(a) => format!("{syscall} {errno} {}:{}", a.ip(), a.port()),
        None => format!("{syscall} {errno}"),
    };
    let mut e = SmtpError::new(ErrorCode::ESocket, message).with_command("CONN");
    e.errno = Some(errno.to_string());
    e.syscall = Some(syscall.to_string());
    if let Some(a) = addr {
        e.address = Some(a.ip().to_string());
        e.port = Some(a.port());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_appends_response_and_code() {
        let e = SmtpError::format(
            ErrorCode::EAuth,
            "Invalid login",
            Some("535 5.7.8 nope"),
            Some("AUTH PLAIN"),
        );
        assert_eq!(e.message, "Invalid login: 535 5.7.8 nope");
        assert_eq!(e.response.as_deref(), Some("535 5.7.8 nope"));
        assert_eq!(e.response_code, Some(535));
        assert_eq!(e.command.as_deref(), Some("AUTH PLAIN"));
        assert_eq!(e.code.as_str(), "EAUTH");
        assert_eq!(e.to_string(), "Invalid login: 535 5.7.8 nope");
    }

    #[test]
    fn format_without_response() {
        let e = SmtpError::format(
            ErrorCode::EEnvelope,
            "No recipients defined",
            None,
            Some("API"),
        );
        assert_eq!(e.message, "No recipients defined");
        assert_eq!(e.response, None);
        assert_eq!(e.response_code, None);
    }

    #[test]
    fn response_code_absent_without_digits() {
        assert_eq!(leading_code("hello"), None);
        assert_eq!(leading_code("000 x"), None);
        assert_eq!(leading_code("250-x"), Some(250));
    }

    #[test]
    fn socket_error_shape() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = socket_error(&io, "connect", Some("127.0.0.1:1".parse().unwrap()));
        assert_eq!(e.message, "connect ECONNREFUSED 127.0.0.1:1");
        assert_eq!(e.code, ErrorCode::ESocket);
        assert_eq!(e.errno.as_deref(), Some("ECONNREFUSED"));
        assert_eq!(e.syscall.as_deref(), Some("connect"));
        assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.port, Some(1));
        assert_eq!(e.command.as_deref(), Some("CONN"));
    }

    #[test]
    fn all_codes_have_strings() {
        assert_eq!(ErrorCode::ETimedOut.as_str(), "ETIMEDOUT");
        assert_eq!(ErrorCode::ERequireTls.as_str(), "EREQUIRETLS");
        assert_eq!(ErrorCode::ENoAuth.as_str(), "ENOAUTH");
        assert_eq!(ErrorCode::EMaxLimit.as_str(), "EMAXLIMIT");
    }

    #[test]
    fn other_codes_equal_the_named_ones_by_string() {
        for c in ErrorCode::NAMED {
            assert_eq!(ErrorCode::named(c.as_str()), c);
            assert!(!matches!(ErrorCode::named(c.as_str()), ErrorCode::Other(_)));
        }
        assert_eq!(ErrorCode::named("EFILEACCESS").as_str(), "EFILEACCESS");
        assert_eq!(ErrorCode::Other("EAUTH"), ErrorCode::EAuth);
        assert_ne!(ErrorCode::Other("EFETCH"), ErrorCode::EAuth);
        assert_eq!(ErrorCode::named("ENOENT"), "ENOENT");
    }
}
