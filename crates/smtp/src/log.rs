//! Log entries handed to the binding, which forwards them to the user's logger.

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub level: Level,
    /// `"client"` | `"server"` | `"network"` | `"smtp"` | `"message"` (nodemailer's `tnx`).
    pub tnx: &'static str,
    pub message: String,
    /// The connection's id (nodemailer's `cid`), 0 when not about one connection.
    pub cid: u64,
}

/// A process-wide counter: ids stay unique across transports, as nodemailer's random ids are.
static NEXT_CID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(crate) fn next_cid() -> u64 {
    NEXT_CID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub type LogFn = Arc<dyn Fn(LogEntry) + Send + Sync>;

/// Small helper so call sites stay one line and cost nothing without a logger.
#[derive(Clone, Default)]
pub(crate) struct Logger {
    pub(crate) sink: Option<LogFn>,
    pub(crate) debug: bool,
    pub(crate) cid: u64,
}

impl Logger {
    pub(crate) fn log(&self, level: Level, tnx: &'static str, message: impl FnOnce() -> String) {
        if let Some(sink) = &self.sink {
            sink(LogEntry {
                level,
                tnx,
                message: message(),
                cid: self.cid,
            });
        }
    }

    /// Transcript lines (client/server), only with `debug`.
    pub(crate) fn transcript(&self, tnx: &'static str, line: &str) {
        if self.debug {
            self.log(Level::Debug, tnx, || line.to_string());
        }
    }
}
