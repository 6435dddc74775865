//! Incremental, bounded parser for SMTP server replies (as nodemailer's lib/smtp-connection reads them).
//!
//! Hand-written rather than lettre's nom parser because nodemailer's rules are looser than
//! RFC 5321 and must be matched exactly: any line matching `^\d+-` continues the reply,
//! whatever follows; lines split on `\r?\n`; empty lines between replies are skipped.

use std::collections::VecDeque;

use crate::error::{ErrorCode, SmtpError};

/// Longest accepted reply line (without its line ending).
pub const MAX_LINE: usize = 64 * 1024;
/// Longest accepted reply (all lines together).
pub const MAX_REPLY: usize = 1024 * 1024;

/// One complete server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Leading digits of the first line, 0 when there are none.
    pub code: u16,
    /// Raw lines, codes included, without line endings.
    pub lines: Vec<String>,
}

impl Reply {
    /// The reply as nodemailer's `response` string: lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// First character of the reply text, which nodemailer tests for `'2'`, `'3'`, ...
    pub fn first_char(&self) -> Option<char> {
        self.lines.first().and_then(|l| l.chars().next())
    }

    /// `str.charAt(0) === '2'`.
    pub fn is_positive(&self) -> bool {
        self.first_char() == Some('2')
    }

    /// `str.substr(0, 3) === prefix` for a 3-digit prefix.
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.lines.first().is_some_and(|l| l.starts_with(prefix))
    }
}

/// `^\d+-`
fn is_continuation(line: &str) -> bool {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && line.as_bytes().get(digits) == Some(&b'-')
}

/// Feeds bytes in, yields complete replies in order.
#[derive(Debug, Default)]
pub struct ReplyParser {
    /// Bytes of the current, unterminated line.
    partial: Vec<u8>,
    /// Lines of the reply in progress (its last line matched `^\d+-`).
    current: Vec<String>,
    current_bytes: usize,
    ready: VecDeque<Reply>,
}

fn too_long(what: &str, limit: usize) -> SmtpError {
    SmtpError::format(
        ErrorCode::EProtocol,
        format!("Server {what} exceeds {limit} bytes"),
        None,
        Some("CONN"),
    )
}

impl ReplyParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes `data`. On a bounds violation the parser is left in an unusable state and
    /// the connection must be dropped.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), SmtpError> {
        while !data.is_empty() {
            match data.iter().position(|b| *b == b'\n') {
                Some(pos) => {
                    if self.partial.len() + pos > MAX_LINE + 1 {
                        return Err(too_long("response line", MAX_LINE));
                    }
                    self.partial.extend_from_slice(&data[..pos]);
                    data = &data[pos + 1..];
                    if self.partial.last() == Some(&b'\r') {
                        self.partial.pop();
                    }
                    if self.partial.len() > MAX_LINE {
                        return Err(too_long("response line", MAX_LINE));
                    }
                    let line = String::from_utf8_lossy(&self.partial).into_owned();
                    self.partial.clear();
                    self.push_line(line)?;
                }
                None => {
                    // +1: a trailing '\r' of a maximal line may still be waiting for its '\n'
                    if self.partial.len() + data.len() > MAX_LINE + 1 {
                        return Err(too_long("response line", MAX_LINE));
                    }
                    self.partial.extend_from_slice(data);
                    data = &[];
                }
            }
        }
        Ok(())
    }

    fn push_line(&mut self, line: String) -> Result<(), SmtpError> {
        if self.current.is_empty() && line.is_empty() {
            return Ok(());
        }
        self.current_bytes += line.len() + 1;
        if self.current_bytes > MAX_REPLY {
            return Err(too_long("response", MAX_REPLY));
        }
        let done = !is_continuation(&line);
        self.current.push(line);
        if done {
            let lines = std::mem::take(&mut self.current);
            self.current_bytes = 0;
            let code = lines
                .first()
                .map(|l| {
                    let d: String = l.chars().take_while(char::is_ascii_digit).collect();
                    d.parse::<u16>().unwrap_or(0)
                })
                .unwrap_or(0);
            self.ready.push_back(Reply { code, lines });
        }
        Ok(())
    }

    /// The next complete reply, if any.
    pub fn next_reply(&mut self) -> Option<Reply> {
        self.ready.pop_front()
    }

    /// Whether a complete reply is waiting.
    pub fn has_reply(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Drops everything buffered (complete replies and partial input): used after the
    /// 220 reply to STARTTLS so that injected plaintext never reaches the TLS session.
    pub fn clear(&mut self) {
        self.partial.clear();
        self.current.clear();
        self.current_bytes = 0;
        self.ready.clear();
    }

    /// Unfinished input (an incomplete multi-line reply and/or an unterminated line),
    /// used for "Connection closed unexpectedly: ...".
    pub fn pending_text(&self) -> Option<String> {
        let mut lines = self.current.clone();
        if !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
        }
        let text = lines.join("\n");
        if text.trim().is_empty() {
            None
        } else {
            Some(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut ReplyParser) -> Vec<Reply> {
        std::iter::from_fn(|| p.next_reply()).collect()
    }

    #[test]
    fn single_line() {
        let mut p = ReplyParser::new();
        p.feed(b"220 mx.example.com ESMTP\r\n").unwrap();
        let r = p.next_reply().unwrap();
        assert_eq!(r.code, 220);
        assert_eq!(r.text(), "220 mx.example.com ESMTP");
        assert!(p.next_reply().is_none());
    }

    #[test]
    fn multi_line_joined_with_lf() {
        let mut p = ReplyParser::new();
        p.feed(b"250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n")
            .unwrap();
        let r = p.next_reply().unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, vec!["250-mx", "250-PIPELINING", "250 SIZE 100"]);
        assert_eq!(r.text(), "250-mx\n250-PIPELINING\n250 SIZE 100");
    }

    #[test]
    fn split_across_reads_and_bare_lf() {
        let mut p = ReplyParser::new();
        p.feed(b"250-a\r").unwrap();
        assert!(!p.has_reply());
        p.feed(b"\n25").unwrap();
        assert!(!p.has_reply());
        p.feed(b"0 b\n354 go\r\n").unwrap();
        let rs = all(&mut p);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].text(), "250-a\n250 b");
        assert_eq!(rs[1].code, 354);
    }

    #[test]
    fn byte_by_byte() {
        let mut p = ReplyParser::new();
        for b in b"250-x\r\n250 y\r\n" {
            p.feed(&[*b]).unwrap();
        }
        assert_eq!(all(&mut p)[0].text(), "250-x\n250 y");
    }

    #[test]
    fn empty_lines_between_replies_skipped() {
        let mut p = ReplyParser::new();
        p.feed(b"\r\n\n250 ok\r\n\r\n").unwrap();
        let rs = all(&mut p);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].text(), "250 ok");
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let mut p = ReplyParser::new();
        p.feed(b"550 bad \xff\xfe user\r\n").unwrap();
        let r = p.next_reply().unwrap();
        assert_eq!(r.text(), "550 bad \u{fffd}\u{fffd} user");
        assert_eq!(r.code, 550);
    }

    #[test]
    fn utf8_split_across_reads() {
        let mut p = ReplyParser::new();
        let s = "250 õk\r\n".as_bytes();
        p.feed(&s[..5]).unwrap();
        p.feed(&s[5..]).unwrap();
        assert_eq!(p.next_reply().unwrap().text(), "250 õk");
    }

    #[test]
    fn no_code() {
        let mut p = ReplyParser::new();
        p.feed(b"hello\r\n").unwrap();
        let r = p.next_reply().unwrap();
        assert_eq!(r.code, 0);
        assert!(!r.is_positive());
    }

    #[test]
    fn line_bound() {
        let mut p = ReplyParser::new();
        let long = vec![b'a'; MAX_LINE];
        p.feed(&long).unwrap();
        p.feed(b"\r\n").unwrap(); // exactly the limit is fine
        assert_eq!(p.next_reply().unwrap().lines[0].len(), MAX_LINE);
        let err = p.feed(&vec![b'a'; MAX_LINE + 2]).unwrap_err();
        assert_eq!(err.code, ErrorCode::EProtocol);
        assert_eq!(err.message, "Server response line exceeds 65536 bytes");
    }

    #[test]
    fn line_bound_across_reads() {
        let mut p = ReplyParser::new();
        p.feed(&vec![b'a'; MAX_LINE]).unwrap();
        assert!(p.feed(b"bb").is_err());
    }

    #[test]
    fn reply_bound() {
        let mut p = ReplyParser::new();
        let line = format!("250-{}\r\n", "x".repeat(1000));
        let mut res = Ok(());
        for _ in 0..1100 {
            res = p.feed(line.as_bytes());
            if res.is_err() {
                break;
            }
        }
        let err = res.unwrap_err();
        assert_eq!(err.code, ErrorCode::EProtocol);
        assert_eq!(err.message, "Server response exceeds 1048576 bytes");
    }

    #[test]
    fn clear_and_pending() {
        let mut p = ReplyParser::new();
        p.feed(b"250 a\r\n250-b\r\n250 c").unwrap();
        assert_eq!(p.pending_text().as_deref(), Some("250-b\n250 c"));
        p.clear();
        assert!(p.next_reply().is_none());
        assert_eq!(p.pending_text(), None);
    }
}
