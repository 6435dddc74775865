//! Log entries handed to the binding, which forwards them to the user's logger as nodemailer's
//! records: the same levels, `tnx`, format strings (`template` with `args`) and fields.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Which of nodemailer's modules writes the record (its default `component`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// lib/smtp-connection: records carry the connection's random `sid`.
    Connection,
    /// lib/smtp-transport.
    Transport,
    /// lib/smtp-pool: records about one pool resource carry its number as `cid`.
    Pool,
}

/// A structured field of a record (nodemailer's `localPort`, `username`, `cached`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Str(&'static str, String),
    Num(&'static str, u64),
    Bool(&'static str, bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub level: Level,
    /// nodemailer's `tnx`: `"client"` | `"server"` | `"network"` | `"smtp"` | `"message"` | `"dns"` | `"send"` | `"pool"`.
    pub tnx: &'static str,
    pub source: Source,
    /// The connection's `sid` (random, as nodemailer's), empty when not about one connection.
    pub sid: Arc<str>,
    /// The pool resource number (`cid`), 0 when not about one.
    pub cid: u64,
    /// util.format template; `args` fill its `%s`.
    pub template: &'static str,
    pub args: Vec<String>,
    pub fields: Vec<Field>,
}

impl LogEntry {
    /// The message as util.format would write it (for tests and plain sinks).
    pub fn message(&self) -> String {
        let mut out = String::new();
        let mut args = self.args.iter();
        let mut rest = self.template;
        while let Some(i) = rest.find("%s") {
            out.push_str(&rest[..i]);
            match args.next() {
                Some(a) => out.push_str(a),
                None => out.push_str("%s"),
            }
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// What a record adds to its template: the arguments and the fields.
#[derive(Debug, Default)]
pub(crate) struct Details {
    pub(crate) args: Vec<String>,
    pub(crate) fields: Vec<Field>,
}

impl Details {
    pub(crate) fn args<const N: usize>(args: [String; N]) -> Details {
        Details {
            args: args.into(),
            fields: Vec::new(),
        }
    }

    pub(crate) fn field(mut self, f: Field) -> Details {
        self.fields.push(f);
        self
    }
}

/// nodemailer's `sid`: 8 random bytes in base64 without its non-word characters, so ids do not
/// repeat across processes the way a counter would.
pub(crate) fn new_sid() -> Arc<str> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // RandomState is seeded from the OS per process (and varies per instance): no extra
    // dependency for an id that only has to be unpredictable enough to tell sessions apart.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(NEXT_SID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut bits = h.finish();
    let mut out = String::with_capacity(11);
    for _ in 0..11 {
        let c = ALPHABET[(bits & 63) as usize];
        bits = bits.rotate_right(6);
        if c.is_ascii_alphanumeric() {
            out.push(c as char);
        }
    }
    out.into()
}

static NEXT_SID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub type LogFn = Arc<dyn Fn(LogEntry) + Send + Sync>;

/// Small helper so call sites stay one line and cost nothing without a logger.
#[derive(Clone, Default)]
pub(crate) struct Logger {
    pub(crate) sink: Option<LogFn>,
    pub(crate) debug: bool,
    pub(crate) source: Option<Source>,
    pub(crate) sid: Option<Arc<str>>,
    pub(crate) cid: u64,
}

impl Logger {
    /// A connection's logger: a fresh `sid`, only drawn when logging is on.
    pub(crate) fn connection(sink: Option<LogFn>, debug: bool) -> Logger {
        let sid = sink.as_ref().map(|_| new_sid());
        Logger {
            sink,
            debug,
            source: Some(Source::Connection),
            sid,
            cid: 0,
        }
    }

    /// The logger of a transport-level module (lib/smtp-transport, lib/smtp-pool).
    pub(crate) fn module(sink: Option<LogFn>, debug: bool, source: Source) -> Logger {
        Logger {
            sink,
            debug,
            source: Some(source),
            sid: None,
            cid: 0,
        }
    }

    /// The same logger, its records about pool resource `cid`.
    pub(crate) fn resource(&self, cid: u64) -> Logger {
        Logger {
            cid,
            ..self.clone()
        }
    }

    /// nodemailer's "Sending message" record, with the `messageId` field it alone carries.
    pub(crate) fn sending(&self, message_id: &str, to: &[String]) {
        if self.cid == 0 {
            self.log(Level::Info, "send", "Sending message %s to <%s>", || {
                Details::args([message_id.to_string(), recipients(to)])
                    .field(Field::Str("messageId", message_id.to_string()))
            });
        } else {
            let cid = self.cid;
            self.log(
                Level::Info,
                "send",
                "Sending message %s using #%s to <%s>",
                || {
                    Details::args([message_id.to_string(), cid.to_string(), recipients(to)])
                        .field(Field::Str("messageId", message_id.to_string()))
                },
            );
        }
    }

    pub(crate) fn log(
        &self,
        level: Level,
        tnx: &'static str,
        template: &'static str,
        details: impl FnOnce() -> Details,
    ) {
        if let Some(sink) = &self.sink {
            let d = details();
            sink(LogEntry {
                level,
                tnx,
                source: self.source.unwrap_or(Source::Connection),
                sid: self.sid.clone().unwrap_or_else(|| Arc::from("")),
                cid: self.cid,
                template,
                args: d.args,
                fields: d.fields,
            });
        }
    }

    /// Transcript lines (client/server/message), only with `debug`. The line is an argument, not
    /// the template: server text must not be read as a format string.
    pub(crate) fn transcript(&self, tnx: &'static str, line: &str) {
        if self.debug {
            self.log(Level::Debug, tnx, "%s", || {
                Details::args([line.to_string()])
            });
        }
    }
}

/// Recipients as nodemailer lists them in "Sending message": more than three become the first
/// two and "...and N more".
pub(crate) fn recipients(to: &[String]) -> String {
    if to.len() > 3 {
        format!("{}, ...and {} more", to[..2].join(", "), to.len() - 2)
    } else {
        to.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_distinct_and_word_characters() {
        let a = new_sid();
        let b = new_sid();
        assert_ne!(a, b);
        assert!(
            a.len() >= 6 && a.chars().all(|c| c.is_ascii_alphanumeric()),
            "{a}"
        );
    }

    #[test]
    fn message_fills_the_template() {
        let e = LogEntry {
            level: Level::Info,
            tnx: "network",
            source: Source::Connection,
            sid: Arc::from("x"),
            cid: 0,
            template: "%s established to %s:%s",
            args: vec!["Connection".into(), "127.0.0.1".into(), "25".into()],
            fields: Vec::new(),
        };
        assert_eq!(e.message(), "Connection established to 127.0.0.1:25");
    }

    #[test]
    fn recipients_are_shortened_after_three() {
        let to: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(recipients(&to[..3]), "a, b, c");
        assert_eq!(recipients(&to), "a, b, ...and 3 more");
    }

    #[test]
    fn no_sink_no_work() {
        let l = Logger::connection(None, true);
        assert!(l.sid.is_none());
        l.log(Level::Info, "smtp", "x", || {
            unreachable!("details built without a logger")
        });
    }
}
