//! The envelope of one message: validation, DSN normalisation, and which MAIL FROM / RCPT TO
//! parameters go out given the server's capabilities (lib/smtp-connection's `_setEnvelope` and
//! `_sendCommand` flow). The commands themselves format in `command`.

use crate::capabilities::Capabilities;
pub use crate::command::encode_xtext;
use crate::command::{MailFrom, MailParam, RcptTo};
use crate::error::{ErrorCode, SmtpError};

#[derive(Clone, Debug, Default)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    pub size: Option<u64>,
    pub use_8bit_mime: bool,
    pub dsn: Option<Dsn>,
    /// nodemailer's `requireTLSExtensionEnabled`: send `REQUIRETLS` (RFC 8689).
    pub require_tls_extension: bool,
    /// The Message-ID, for the "Sending message" log record; set only when logging is on.
    pub message_id: Option<String>,
    /// Set by the body when it has 8-bit parts with a 7-bit form: the connection stores
    /// whether its server lacks 8BITMIME (then those parts stream transfer-encoded, RFC 6152).
    pub seven_bit: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// DSN options as the user gave them (nodemailer's `dsn` message option).
/// `notify` holds the values; a single comma-separated string is also accepted.
#[derive(Clone, Debug, Default)]
pub struct Dsn {
    /// `ret`/`return`: HDRS/HEADERS or FULL/BODY, any case.
    pub ret: Option<String>,
    pub envid: Option<String>,
    pub notify: Vec<String>,
    pub orcpt: Option<String>,
}

/// DSN after normalisation: the values that go on the wire (before xtext).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DsnParams {
    pub ret: Option<String>,
    pub envid: Option<String>,
    pub notify: Option<String>,
    pub orcpt: Option<String>,
}

/// A validated envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prepared {
    pub from: String,
    pub to: Vec<String>,
    /// Some address has a non-ASCII character.
    pub utf8: bool,
    pub dsn: Option<DsnParams>,
}

/// `JSON.stringify(s)` for a string.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn bad_address(s: &str) -> bool {
    s.contains(['\r', '\n', '<', '>'])
}

fn api_error(message: String) -> SmtpError {
    SmtpError::format(ErrorCode::EEnvelope, message, None, Some("API"))
}

/// Validates and normalises an envelope as nodemailer's `_setEnvelope` does.
pub(crate) fn prepare(env: &Envelope) -> Result<Prepared, SmtpError> {
    let from = env.from.trim().to_string();
    let to: Vec<String> = env.to.iter().map(|t| t.trim().to_string()).collect();
    if to.is_empty() {
        return Err(api_error("No recipients defined".into()));
    }
    if !from.is_empty() && bad_address(&from) {
        return Err(api_error(format!("Invalid sender {}", json_string(&from))));
    }
    let mut utf8 = !from.is_ascii();
    for t in &to {
        if t.is_empty() || bad_address(t) {
            return Err(api_error(format!("Invalid recipient {}", json_string(t))));
        }
        utf8 |= !t.is_ascii();
    }
    let dsn = match &env.dsn {
        Some(d) => Some(normalize_dsn(d)?),
        None => None,
    };
    Ok(Prepared {
        from,
        to,
        utf8,
        dsn,
    })
}

fn normalize_dsn(d: &Dsn) -> Result<DsnParams, SmtpError> {
    let ret = match d
        .ret
        .as_deref()
        .map(str::to_uppercase)
        .filter(|r| !r.is_empty())
    {
        None => None,
        Some(r) => match r.as_str() {
            "HDRS" | "HEADERS" => Some("HDRS".to_string()),
            "FULL" | "BODY" => Some("FULL".to_string()),
            _ => return Err(api_error(format!("Invalid DSN ret: {}", json_string(&r)))),
        },
    };
    let envid = d.envid.clone().filter(|e| !e.is_empty());
    let notify = if d.notify.is_empty() {
        None
    } else {
        // A single element may be nodemailer's comma-separated string form.
        let items: Vec<String> = if d.notify.len() == 1 {
            d.notify[0]
                .split(',')
                .map(|n| n.trim().to_uppercase())
                .collect()
        } else {
            d.notify.iter().map(|n| n.trim().to_uppercase()).collect()
        };
        let valid = ["NEVER", "SUCCESS", "FAILURE", "DELAY"];
        let joined = items.join(",");
        if items.iter().any(|n| !valid.contains(&n.as_str()))
            || (items.len() > 1 && items.iter().any(|n| n == "NEVER"))
        {
            return Err(api_error(format!(
                "Invalid DSN notify: {}",
                json_string(&joined)
            )));
        }
        Some(joined).filter(|j| !j.is_empty())
    };
    let orcpt = d.orcpt.clone().filter(|o| !o.is_empty()).map(|o| {
        if o.contains(';') {
            o
        } else {
            format!("rfc822;{o}")
        }
    });
    Ok(DsnParams {
        ret,
        envid,
        notify,
        orcpt,
    })
}

/// The `MAIL FROM` command for `p`, with the parameters the server advertised, and whether
/// SMTPUTF8 was used.
pub(crate) fn mail_from_command<'a>(
    p: &'a Prepared,
    env: &Envelope,
    caps: &Capabilities,
) -> (MailFrom<'a>, bool) {
    let mut params = Vec::new();
    let smtputf8 = p.utf8 && caps.smtputf8;
    if smtputf8 {
        params.push(MailParam::SmtpUtf8);
    }
    if env.use_8bit_mime && caps.eight_bit_mime {
        params.push(MailParam::Body8BitMime);
    }
    if let Some(switch) = &env.seven_bit {
        // read when the body starts, after this command: per connection, so a retry on
        // another server decides again
        switch.store(!caps.eight_bit_mime, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(size) = env.size.filter(|s| *s > 0) {
        if caps.size {
            params.push(MailParam::Size(size));
        }
    }
    if let (Some(dsn), true) = (&p.dsn, caps.dsn) {
        if let Some(ret) = &dsn.ret {
            params.push(MailParam::Ret(ret));
        }
        if let Some(envid) = &dsn.envid {
            params.push(MailParam::EnvId(envid));
        }
    }
    if env.require_tls_extension {
        params.push(MailParam::RequireTls);
    }
    (
        MailFrom {
            from: &p.from,
            params,
        },
        smtputf8,
    )
}

/// The `RCPT TO` command for `rcpt`, with the DSN parameters when the server advertised DSN.
pub(crate) fn rcpt_to_command<'a>(
    rcpt: &'a str,
    p: &'a Prepared,
    caps: &Capabilities,
) -> RcptTo<'a> {
    let dsn = p.dsn.as_ref().filter(|_| caps.dsn);
    RcptTo {
        to: rcpt,
        notify: dsn.and_then(|d| d.notify.as_deref()),
        orcpt: dsn.and_then(|d| d.orcpt.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(from: &str, to: &[&str]) -> Envelope {
        Envelope {
            from: from.into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn all_caps() -> Capabilities {
        Capabilities::parse(
            "250-mx\n250-SMTPUTF8\n250-8BITMIME\n250-SIZE 1000\n250-DSN\n250 PIPELINING",
        )
    }

    #[test]
    fn validation_errors() {
        let e = prepare(&env("a@x", &[])).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::EEnvelope, "No recipients defined")
        );
        assert_eq!(e.command.as_deref(), Some("API"));
        let e = prepare(&env("a@x\r\nRCPT TO:<b@y>", &["c@z"])).unwrap_err();
        assert_eq!(e.message, "Invalid sender \"a@x\\r\\nRCPT TO:<b@y>\"");
        let e = prepare(&env("a@x", &["ok@x", "b>@y"])).unwrap_err();
        assert_eq!(e.message, "Invalid recipient \"b>@y\"");
        let e = prepare(&env("a@x", &["  "])).unwrap_err();
        assert_eq!(e.message, "Invalid recipient \"\"");
    }

    #[test]
    fn trims_and_detects_utf8() {
        let p = prepare(&env(" a@x ", &[" b@y"])).unwrap();
        assert_eq!(p.from, "a@x");
        assert_eq!(p.to, vec!["b@y"]);
        assert!(!p.utf8);
        assert!(prepare(&env("õ@x", &["b@y"])).unwrap().utf8);
        assert!(prepare(&env("", &["b@ü"])).unwrap().utf8);
    }

    #[test]
    fn mail_from_params() {
        let caps = all_caps();
        let mut e = env("a@example.com", &["b@x"]);
        e.use_8bit_mime = true;
        e.size = Some(100);
        let p = prepare(&e).unwrap();
        assert_eq!(
            mail_from_command(&p, &e, &caps).0.to_string(),
            "MAIL FROM:<a@example.com> BODY=8BITMIME SIZE=100"
        );
        let e2 = env("õ@example.com", &["b@x"]);
        let p2 = prepare(&e2).unwrap();
        let (cmd, utf8) = mail_from_command(&p2, &e2, &caps);
        let cmd = cmd.to_string();
        assert_eq!(cmd, "MAIL FROM:<õ@example.com> SMTPUTF8");
        assert!(utf8);
        // not advertised: no keywords
        let none = Capabilities::parse("250 mx");
        let (cmd, utf8) = mail_from_command(&p2, &e2, &none);
        let cmd = cmd.to_string();
        assert_eq!(cmd, "MAIL FROM:<õ@example.com>");
        assert!(!utf8);
        let cmd = mail_from_command(&p, &e, &none).0.to_string();
        // the body's 8-bit switch follows the server's 8BITMIME
        let switch = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let e8 = Envelope {
            seven_bit: Some(switch.clone()),
            use_8bit_mime: true,
            ..e.clone()
        };
        mail_from_command(&p, &e8, &none);
        assert!(switch.load(std::sync::atomic::Ordering::Relaxed));
        let with = mail_from_command(&p, &e8, &caps).0.to_string();
        assert!(!switch.load(std::sync::atomic::Ordering::Relaxed));
        assert!(with.contains("BODY=8BITMIME"), "{with}");
        assert_eq!(cmd, "MAIL FROM:<a@example.com>");
        let empty = env("", &["b@x"]);
        assert_eq!(
            mail_from_command(&prepare(&empty).unwrap(), &empty, &caps)
                .0
                .to_string(),
            "MAIL FROM:<>"
        );
    }

    #[test]
    fn dsn_params() {
        let caps = all_caps();
        let mut e = env("sender@example.com", &["a@example.com"]);
        e.dsn = Some(Dsn {
            ret: Some("headers".into()),
            envid: Some("abc".into()),
            notify: vec!["success".into(), "FAILURE".into()],
            orcpt: Some("sender@example.com".into()),
        });
        let p = prepare(&e).unwrap();
        assert_eq!(
            mail_from_command(&p, &e, &caps).0.to_string(),
            "MAIL FROM:<sender@example.com> RET=HDRS ENVID=abc"
        );
        assert_eq!(
            rcpt_to_command("a@example.com", &p, &caps).to_string(),
            "RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;sender@example.com"
        );
        let none = Capabilities::parse("250 mx");
        assert_eq!(
            rcpt_to_command("a@example.com", &p, &none).to_string(),
            "RCPT TO:<a@example.com>"
        );
    }

    #[test]
    fn dsn_comma_string_and_errors() {
        let mut e = env("a@x", &["b@y"]);
        e.dsn = Some(Dsn {
            notify: vec!["delay, failure".into()],
            ret: Some("body".into()),
            ..Default::default()
        });
        let p = prepare(&e).unwrap();
        let d = p.dsn.unwrap();
        assert_eq!(d.notify.as_deref(), Some("DELAY,FAILURE"));
        assert_eq!(d.ret.as_deref(), Some("FULL"));
        e.dsn = Some(Dsn {
            ret: Some("x".into()),
            ..Default::default()
        });
        assert_eq!(prepare(&e).unwrap_err().message, "Invalid DSN ret: \"X\"");
        e.dsn = Some(Dsn {
            notify: vec!["NEVER".into(), "SUCCESS".into()],
            ..Default::default()
        });
        assert_eq!(
            prepare(&e).unwrap_err().message,
            "Invalid DSN notify: \"NEVER,SUCCESS\""
        );
        e.dsn = Some(Dsn {
            notify: vec!["sometimes".into()],
            ..Default::default()
        });
        assert_eq!(
            prepare(&e).unwrap_err().message,
            "Invalid DSN notify: \"SOMETIMES\""
        );
        e.dsn = Some(Dsn {
            orcpt: Some("x400;a".into()),
            ..Default::default()
        });
        assert_eq!(
            prepare(&e).unwrap().dsn.unwrap().orcpt.as_deref(),
            Some("x400;a")
        );
    }

    #[test]
    fn json_escape() {
        assert_eq!(json_string("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }
}
