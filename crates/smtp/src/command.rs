//! The SMTP commands the client sends, as typed values (the model is lettre's
//! `transport/smtp/commands.rs`): each formats its own line (without CRLF) through `Display`,
//! and knows its transcript form, which hides secrets (nodemailer's `/* secret */`).
//!
//! Which command to send and with which parameters is decided elsewhere: the session in
//! `connection`, the MAIL FROM / RCPT TO parameters from the envelope and the server's
//! capabilities in `envelope`. A new command or parameter goes here, with a test of its bytes.
//!
//! No value can break a line: addresses reach MAIL FROM / RCPT TO only after `envelope::prepare`
//! refused CR, LF, `<` and `>` in them; the EHLO/HELO/LHLO name loses its control characters
//! (`ConnectOptions::client_name`, and again here); DSN values go out as xtext and credentials
//! as base64. Only a custom authentication handler's own line goes out as the handler wrote it,
//! as in nodemailer.

use std::fmt::{self, Display, Write as _};

use crate::auth;

/// One client command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// `EHLO name` (RFC 5321).
    Ehlo(&'a str),
    /// `HELO name`, the fallback when EHLO is refused.
    Helo(&'a str),
    /// `LHLO name` (LMTP, RFC 2033).
    Lhlo(&'a str),
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH PLAIN <base64(\0user\0pass)>`: the initial response on the command (RFC 4616).
    AuthPlain { user: &'a str, pass: &'a str },
    /// `AUTH LOGIN`, then the user name and the password each on its own line.
    AuthLogin,
    /// The base64 user name of AUTH LOGIN.
    LoginUser(&'a str),
    /// The base64 password of AUTH LOGIN.
    LoginPass(&'a str),
    /// `AUTH CRAM-MD5` (RFC 2195).
    AuthCramMd5,
    /// The answer to a CRAM-MD5 challenge: base64(user + " " + hex HMAC-MD5).
    CramMd5Answer {
        user: &'a str,
        pass: &'a str,
        challenge: &'a str,
    },
    /// `AUTH XOAUTH2 <base64(user=..\x01auth=Bearer ..\x01\x01)>`.
    AuthXOAuth2 { user: &'a str, token: &'a str },
    /// The empty line answering a `334` the client has nothing more to say to.
    AuthContinue,
    /// A line written by a custom authentication handler, sent as it is.
    Custom(&'a str),
    /// `MAIL FROM:<address>` and its parameters.
    Mail(MailFrom<'a>),
    /// `RCPT TO:<address>` and its DSN parameters.
    Rcpt(RcptTo<'a>),
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
}

/// What the transcript shows in place of a secret.
const SECRET: &str = "/* secret */";

impl Command<'_> {
    /// The line as the transcript shows it, when that differs from the line sent (a secret
    /// hidden); `None` when the line itself is shown.
    pub(crate) fn masked(&self) -> Option<String> {
        match self {
            Command::AuthPlain { user, .. } => {
                Some(format!("AUTH PLAIN {}", auth::plain(user, SECRET)))
            }
            Command::LoginPass(_) => Some(auth::login_step(SECRET)),
            Command::CramMd5Answer { user, .. } => {
                Some(auth::login_step(&format!("{user} {SECRET}")))
            }
            Command::AuthXOAuth2 { user, .. } => {
                Some(format!("AUTH XOAUTH2 {}", auth::xoauth2(user, SECRET)))
            }
            Command::Custom(line) => Some(auth::mask_auth_command(line)),
            _ => None,
        }
    }
}

/// A client name with control characters (CR, LF, NUL, ...) removed.
struct Name<'a>(&'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.contains(char::is_control) {
            return f.write_str(self.0);
        }
        self.0
            .chars()
            .filter(|c| !c.is_control())
            .try_for_each(|c| f.write_char(c))
    }
}

impl Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Ehlo(name) => write!(f, "EHLO {}", Name(name)),
            Command::Helo(name) => write!(f, "HELO {}", Name(name)),
            Command::Lhlo(name) => write!(f, "LHLO {}", Name(name)),
            Command::StartTls => f.write_str("STARTTLS"),
            Command::AuthPlain { user, pass } => {
                write!(f, "AUTH PLAIN {}", auth::plain(user, pass))
            }
            Command::AuthLogin => f.write_str("AUTH LOGIN"),
            Command::LoginUser(user) => f.write_str(&auth::login_step(user)),
            Command::LoginPass(pass) => f.write_str(&auth::login_step(pass)),
            Command::AuthCramMd5 => f.write_str("AUTH CRAM-MD5"),
            Command::CramMd5Answer {
                user,
                pass,
                challenge,
            } => f.write_str(&auth::cram_md5(user, pass, challenge)),
            Command::AuthXOAuth2 { user, token } => {
                write!(f, "AUTH XOAUTH2 {}", auth::xoauth2(user, token))
            }
            Command::AuthContinue => Ok(()),
            Command::Custom(line) => f.write_str(line),
            Command::Mail(mail) => mail.fmt(f),
            Command::Rcpt(rcpt) => rcpt.fmt(f),
            Command::Data => f.write_str("DATA"),
            Command::Rset => f.write_str("RSET"),
            Command::Quit => f.write_str("QUIT"),
        }
    }
}

/// A MAIL FROM parameter (ESMTP keywords; each sent only when the server advertised it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MailParam<'a> {
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `BODY=8BITMIME` (RFC 6152).
    Body8BitMime,
    /// `SIZE=n` (RFC 1870).
    Size(u64),
    /// DSN `RET=FULL|HDRS` (RFC 3461), as xtext.
    Ret(&'a str),
    /// DSN `ENVID=...` (RFC 3461), as xtext.
    EnvId(&'a str),
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
}

impl Display for MailParam<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailParam::SmtpUtf8 => f.write_str("SMTPUTF8"),
            MailParam::Body8BitMime => f.write_str("BODY=8BITMIME"),
            MailParam::Size(n) => write!(f, "SIZE={n}"),
            MailParam::Ret(v) => write!(f, "RET={}", Xtext(v)),
            MailParam::EnvId(v) => write!(f, "ENVID={}", Xtext(v)),
            MailParam::RequireTls => f.write_str("REQUIRETLS"),
        }
    }
}

/// `MAIL FROM:<from>` and its parameters in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MailFrom<'a> {
    /// The reverse path, already validated (empty for `<>`).
    pub from: &'a str,
    pub params: Vec<MailParam<'a>>,
}

impl Display for MailFrom<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MAIL FROM:<{}>", self.from)?;
        self.params.iter().try_for_each(|p| write!(f, " {p}"))
    }
}

/// `RCPT TO:<to>` with the DSN parameters (RFC 3461), each as xtext.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RcptTo<'a> {
    /// The forward path, already validated.
    pub to: &'a str,
    /// `NOTIFY=` value (`SUCCESS,FAILURE`, `NEVER`, ...).
    pub notify: Option<&'a str>,
    /// `ORCPT=` value (`rfc822;address`).
    pub orcpt: Option<&'a str>,
}

impl Display for RcptTo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RCPT TO:<{}>", self.to)?;
        if let Some(n) = self.notify {
            write!(f, " NOTIFY={}", Xtext(n))?;
        }
        if let Some(o) = self.orcpt {
            write!(f, " ORCPT={}", Xtext(o))?;
        }
        Ok(())
    }
}

/// RFC 3461 xtext: bytes outside `!`..`~`, and `+` and `=`, become `+HH`.
struct Xtext<'a>(&'a str);

impl Display for Xtext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.bytes() {
            if (0x21..=0x7e).contains(&b) && b != b'+' && b != b'=' {
                f.write_char(b as char)?;
            } else {
                write!(f, "+{b:02X}")?;
            }
        }
        Ok(())
    }
}

/// RFC 3461 xtext of `s`: bytes outside `!`..`~`, and `+` and `=`, become `+HH`.
pub fn encode_xtext(s: &str) -> String {
    Xtext(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(c: Command<'_>) -> String {
        c.to_string()
    }

    #[test]
    fn greetings_and_simple_commands() {
        assert_eq!(line(Command::Ehlo("client.test")), "EHLO client.test");
        assert_eq!(line(Command::Helo("[127.0.0.1]")), "HELO [127.0.0.1]");
        assert_eq!(line(Command::Lhlo("client.test")), "LHLO client.test");
        assert_eq!(line(Command::StartTls), "STARTTLS");
        assert_eq!(line(Command::Data), "DATA");
        assert_eq!(line(Command::Rset), "RSET");
        assert_eq!(line(Command::Quit), "QUIT");
        assert_eq!(line(Command::AuthContinue), "");
        assert_eq!(Command::Quit.masked(), None);
    }

    #[test]
    fn a_name_cannot_break_the_line() {
        assert_eq!(
            line(Command::Ehlo("evil\r\nMAIL FROM:<x>")),
            "EHLO evilMAIL FROM:<x>"
        );
        assert_eq!(line(Command::Helo("a\0b\x7fc\n")), "HELO abc");
        assert_eq!(line(Command::Lhlo("x\ry")), "LHLO xy");
    }

    #[test]
    fn auth_lines_and_their_transcript() {
        let c = Command::AuthPlain {
            user: "user",
            pass: "pass",
        };
        // base64("\0user\0pass")
        assert_eq!(line(c.clone()), "AUTH PLAIN AHVzZXIAcGFzcw==");
        // base64("\0user\0/* secret */")
        assert_eq!(
            c.masked().as_deref(),
            Some("AUTH PLAIN AHVzZXIALyogc2VjcmV0ICov")
        );
        assert_eq!(line(Command::AuthLogin), "AUTH LOGIN");
        assert_eq!(line(Command::LoginUser("user")), "dXNlcg==");
        assert_eq!(Command::LoginUser("user").masked(), None);
        assert_eq!(line(Command::LoginPass("pass")), "cGFzcw==");
        assert_eq!(
            Command::LoginPass("pass").masked().as_deref(),
            Some("Lyogc2VjcmV0ICov")
        );
        assert_eq!(line(Command::AuthCramMd5), "AUTH CRAM-MD5");
        // RFC 2195's example exchange
        let cram = Command::CramMd5Answer {
            user: "tim",
            pass: "tanstaaftanstaaf",
            challenge: "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
        };
        assert_eq!(
            line(cram.clone()),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
        // base64("tim /* secret */")
        assert_eq!(cram.masked().as_deref(), Some("dGltIC8qIHNlY3JldCAqLw=="));
        let x = Command::AuthXOAuth2 {
            user: "u@x",
            token: "tok",
        };
        // base64("user=u@x\x01auth=Bearer tok\x01\x01")
        assert_eq!(
            line(x.clone()),
            "AUTH XOAUTH2 dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE="
        );
        assert!(!x.masked().unwrap_or_default().contains("dG9r"));
        assert_eq!(line(Command::Custom("AUTH X-MINE abc")), "AUTH X-MINE abc");
        assert_eq!(
            Command::Custom("AUTH X-MINE abc").masked().as_deref(),
            Some("AUTH X-MINE /* secret */")
        );
    }

    #[test]
    fn mail_from_with_every_parameter() {
        let m = MailFrom {
            from: "a@example.com",
            params: vec![
                MailParam::SmtpUtf8,
                MailParam::Body8BitMime,
                MailParam::Size(1234),
                MailParam::Ret("HDRS"),
                MailParam::EnvId("id+1=2 x"),
                MailParam::RequireTls,
            ],
        };
        assert_eq!(
            line(Command::Mail(m)),
            "MAIL FROM:<a@example.com> SMTPUTF8 BODY=8BITMIME SIZE=1234 RET=HDRS ENVID=id+2B1+3D2+20x REQUIRETLS"
        );
        assert_eq!(line(Command::Mail(MailFrom::default())), "MAIL FROM:<>");
    }

    #[test]
    fn rcpt_to_with_dsn() {
        let r = RcptTo {
            to: "b@example.com",
            notify: Some("SUCCESS,FAILURE"),
            orcpt: Some("rfc822;b@example.com"),
        };
        assert_eq!(
            line(Command::Rcpt(r)),
            "RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.com"
        );
        // a DSN value cannot break the line: xtext encodes CR, LF and spaces
        let r = RcptTo {
            to: "b@example.com",
            notify: None,
            orcpt: Some("rfc822;x\r\nDATA"),
        };
        assert_eq!(
            line(Command::Rcpt(r)),
            "RCPT TO:<b@example.com> ORCPT=rfc822;x+0D+0ADATA"
        );
    }

    #[test]
    fn xtext() {
        assert_eq!(encode_xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(encode_xtext("õ"), "+C3+B5");
        assert_eq!(encode_xtext("rfc822;x@y"), "rfc822;x@y");
    }
}
