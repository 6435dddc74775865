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
}

pub type LogFn = Arc<dyn Fn(LogEntry) + Send + Sync>;

/// Small helper so call sites stay one line and cost nothing without a logger.
#[derive(Clone, Default)]
pub(crate) struct Logger {
    pub(crate) sink: Option<LogFn>,
    pub(crate) debug: bool,
}

impl Logger {
    pub(crate) fn log(&self, level: Level, tnx: &'static str, message: impl FnOnce() -> String) {
        if let Some(sink) = &self.sink {
            sink(LogEntry {
                level,
                tnx,
                message: message(),
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
