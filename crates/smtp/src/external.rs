//! Sockets made outside the engine (nodemailer's `getSocket`, `connection`, `socket` and custom
//! proxy handlers): any byte stream can carry the SMTP session. The engine runs on it as on its
//! own TCP stream: implicit TLS or STARTTLS with rustls on top, unless the stream is already
//! secured.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

// `ExternalError` lives with the other error types (`socket_error` reads it back out of an
// `io::Error`); re-exported here, where the binding looks for it.
pub use crate::error::ExternalError;
use crate::error::SmtpError;

/// A byte stream the engine can run SMTP on.
pub trait ExternalIo: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> ExternalIo for T {}

/// A connected stream for one SMTP connection, with what its maker says about it.
pub struct ExternalSocket {
    pub stream: Box<dyn ExternalIo>,
    /// TLS is already done (nodemailer's `secured`): `secure` adds no handshake on top.
    pub secured: bool,
    /// Overrides the transport's `secure` for this connection.
    pub secure: Option<bool>,
    /// Overrides the transport's `host` for this connection (TLS name, log lines).
    pub host: Option<String>,
    /// The stream's ends, when it has them (log lines only).
    pub remote: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
}

impl fmt::Debug for ExternalSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalSocket")
            .field("secured", &self.secured)
            .field("secure", &self.secure)
            .field("host", &self.host)
            .field("remote", &self.remote)
            .field("local", &self.local)
            .finish()
    }
}

/// The result of asking a [`SocketProvider`]: a socket, or `None` to connect as usual.
pub type OpenFuture = BoxFuture<'static, Result<Option<ExternalSocket>, SmtpError>>;

/// Makes the streams of a transport's connections.
pub trait SocketProvider: Send + Sync {
    /// A stream to `host:port`. `None` (without waiting) when the provider has nothing to say
    /// for this transport now: the engine connects by itself.
    fn open(&self, host: &str, port: u16) -> Option<OpenFuture>;
}

/// A shared [`SocketProvider`] for [`crate::ConnectOptions`].
#[derive(Clone)]
pub struct SocketProviderHandle(pub Arc<dyn SocketProvider>);

impl fmt::Debug for SocketProviderHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SocketProvider")
    }
}
