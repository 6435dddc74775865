//! The mail transaction on an established session (nodemailer's `send`): MAIL FROM, RCPT TO
//! and DATA (one write with PIPELINING), the body through the dot-stuffer, then the final
//! reply, or one reply per recipient under LMTP. Each step is a function below, in the order
//! the transaction runs; the commands' bytes are `command`'s and their parameters `envelope`'s.

use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::time::timeout;

use super::{timeout_error, SendInfo, SmtpConnection, BODY_SLICE};
use crate::command::Command;
use crate::data::DotStuffer;
use crate::envelope::{self, Envelope, Prepared};
use crate::error::{ErrorCode, SmtpError};
use crate::log::{Details, Field, Level};
use crate::reply::Reply;

/// Where the recipients stand: accepted so far, and the refused ones with their errors.
#[derive(Default)]
struct Recipients {
    accepted: Vec<String>,
    rejected: Vec<String>,
    rejected_errors: Vec<SmtpError>,
}

impl SmtpConnection {
    /// MAIL FROM, RCPT TO (pipelined when advertised), DATA, body, final reply(ies).
    pub async fn send<S>(&mut self, env: &Envelope, mut body: S) -> Result<SendInfo, SmtpError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
    {
        if let Some(e) = self.destroyed_error("send message") {
            return Err(e);
        }
        self.check_size(env)?;
        let start = Instant::now();
        let prepared = envelope::prepare(env)?;
        self.check_require_tls(env)?;
        let mut rcpts = self.envelope(&prepared, env).await?;
        let envelope_done = Instant::now();
        let message_size = self.write_body(&mut body).await?;
        let response = if self.opts.lmtp {
            self.lmtp_replies(&mut rcpts).await?
        } else {
            self.final_reply().await?
        };
        Ok(SendInfo {
            accepted: rcpts.accepted,
            rejected: rcpts.rejected,
            rejected_errors: rcpts.rejected_errors,
            envelope_time: envelope_done.duration_since(start).as_millis() as u64,
            message_time: envelope_done.elapsed().as_millis() as u64,
            message_size,
            response,
        })
    }

    /// A message larger than the server's advertised `SIZE` is refused before MAIL FROM.
    fn check_size(&self, env: &Envelope) -> Result<(), SmtpError> {
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
        Ok(())
    }

    /// REQUIRETLS (RFC 8689) needs a TLS session and a server that advertises it.
    fn check_require_tls(&self, env: &Envelope) -> Result<(), SmtpError> {
        if !env.require_tls_extension {
            return Ok(());
        }
        let refusal = if !self.secure {
            "REQUIRETLS can only be used over TLS connections (RFC 8689)"
        } else if !self.caps.requiretls {
            "Server does not support REQUIRETLS extension (RFC 8689)"
        } else {
            return Ok(());
        };
        Err(SmtpError::format(
            ErrorCode::ERequireTls,
            refusal,
            None,
            Some("MAIL FROM"),
        ))
    }

    /// MAIL FROM, every RCPT TO and DATA, up to DATA's go-ahead.
    ///
    /// With PIPELINING, MAIL FROM, every RCPT TO and DATA go in one write and their replies
    /// are read in order (RFC 2920, as Postfix's client does): one round trip instead of
    /// 2 + recipients (nodemailer 10.6.1 pipelines them too). Any failure here ends the
    /// transaction with an error, and callers drop a connection after an error, so replies
    /// left unread then never confuse a later message.
    async fn envelope(
        &mut self,
        prepared: &Prepared,
        env: &Envelope,
    ) -> Result<Recipients, SmtpError> {
        let (mail, smtputf8) = envelope::mail_from_command(prepared, env, &self.caps);
        let rcpt_commands: Vec<Command<'_>> = prepared
            .to
            .iter()
            .map(|t| Command::Rcpt(envelope::rcpt_to_command(t, prepared, &self.caps)))
            .collect();
        let pipelined = self.caps.pipelining;
        let r = if pipelined {
            let mut batch = Vec::with_capacity(rcpt_commands.len() + 2);
            batch.push(Command::Mail(mail));
            batch.extend(rcpt_commands.iter().cloned());
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

        let mut rcpts = Recipients::default();
        let mut last_reply = String::new();
        if pipelined {
            for rcpt in &prepared.to {
                let r = self.read_reply().await?;
                last_reply = rcpts.rcpt_reply(rcpt, r, smtputf8);
            }
        } else {
            for (rcpt, command) in prepared.to.iter().zip(rcpt_commands) {
                let r = self.command(command).await?;
                last_reply = rcpts.rcpt_reply(rcpt, r, smtputf8);
            }
        }
        if rcpts.rejected.len() >= prepared.to.len() {
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
            e.rejected = rcpts.rejected;
            e.rejected_errors = rcpts.rejected_errors;
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
        Ok(rcpts)
    }

    /// The reply after the body's final dot: 2xx or EMESSAGE "Message failed".
    async fn final_reply(&mut self) -> Result<String, SmtpError> {
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
        Ok(text)
    }

    /// LMTP (RFC 2033): one reply per accepted recipient, in order; a refusal moves that
    /// recipient to `rejected`. The last reply is the response.
    async fn lmtp_replies(&mut self, rcpts: &mut Recipients) -> Result<String, SmtpError> {
        let mut last = String::new();
        for rcpt in rcpts.accepted.clone() {
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
                rcpts.rejected.push(rcpt.clone());
                rcpts.rejected_errors.push(e);
                rcpts.accepted.retain(|a| *a != rcpt);
            }
            last = text;
        }
        Ok(last)
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
        if self.logger.debug && self.opts.log_body {
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
        if self.logger.debug && self.opts.log_body {
            self.log_body(piece);
        }
        self.write_bytes(piece).await
    }
}

impl Recipients {
    /// Files `rcpt` as accepted or refused by its RCPT TO reply; returns the reply's text.
    fn rcpt_reply(&mut self, rcpt: &str, r: Reply, smtputf8: bool) -> String {
        let text = r.text();
        if r.first_char() == Some('2') {
            self.accepted.push(rcpt.to_string());
        } else {
            let msg = if smtputf8 && r.starts_with("553 ") && !rcpt.is_ascii() {
                "Internationalized mailbox name not allowed"
            } else {
                "Recipient command failed"
            };
            let mut e = SmtpError::format(ErrorCode::EEnvelope, msg, Some(&text), Some("RCPT TO"));
            e.recipient = Some(rcpt.to_string());
            self.rejected.push(rcpt.to_string());
            self.rejected_errors.push(e);
        }
        text
    }
}
