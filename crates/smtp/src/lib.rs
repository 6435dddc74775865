//! mailer-smtp: the SMTP client engine of mailer-rs.
//!
//! Behaviour follows nodemailer's `lib/smtp-connection` and `lib/smtp-transport`: exact wire
//! formats, error codes/messages and timeouts.

// `SmtpError`'s flat shape (nodemailer's error fields) is the public contract with the
// binding; errors are the rare path, so its size in `Result` is accepted.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod capabilities;
mod command;
pub mod connection;
pub mod data;
pub mod envelope;
pub mod error;
pub mod external;
pub mod log;
mod net;
pub mod options;
pub mod pool;
pub mod proxy;
pub mod reply;
#[cfg(test)]
mod test_server;
pub mod transport;

pub use auth::{AuthOptions, Credentials, TokenProvider};
pub use connection::{SendInfo, SmtpConnection};
pub use envelope::{Dsn, Envelope};
pub use error::{ErrorCode, SmtpError};
pub use external::{
    ExternalError, ExternalIo, ExternalSocket, SocketProvider, SocketProviderHandle,
};
pub use log::{Level, LogEntry, LogFn};
pub use options::{ConnectOptions, TlsOptions};
pub use pool::{BodyFactory, BodyStream, Pool, PoolOptions};
pub use proxy::{ProxyConfig, ProxyKind};
pub use reply::Reply;
