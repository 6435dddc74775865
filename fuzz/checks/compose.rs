//! Invariants for `mailer_message::compile` with hostile strings in every header-bound field,
//! shared by the cargo-fuzz target and `crates/message/tests/fuzz_corpus.rs`.
//!
//! Input: fields separated by 0xFF (never valid UTF-8, so it cannot occur inside a field),
//! each read as lossy UTF-8: subject, from name, to name, attachment filename, custom header
//! key, custom header value, `list.help` entry, text body, reply-to address (lengths capped,
//! see `fields`).
//! Checked on the composed bytes: CRLF only (no bare CR or LF), no line over 998 octets,
//! a 7-bit header section (see `header_fields` for the exceptions) whose unfolded lines are
//! all `Name: value` with only the fields this message can have, and an envelope with no CR,
//! LF or NUL.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use mailer_message::{compile, ComposeOptions, MailData};
use serde_json::json;

const FIELDS: usize = 9;

/// What the composer may write at the top of this message (lower case).
const STANDARD: &[&str] = &[
    "from",
    "to",
    "reply-to",
    "subject",
    "message-id",
    "date",
    "list-help",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
];

fn fields(data: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = data
        .split(|b| *b == 0xFF)
        .take(FIELDS)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    out.resize(FIELDS, String::new());
    // A header word with no space cannot be folded, so a 1000-char name or ASCII word makes a
    // line over 998 octets, exactly as nodemailer 10.6.1 does (docs/reliability.md): names are
    // cut to 100 octets and other header-bound fields to 800 (octets: a replacement char is
    // 3), still plenty for injection and folding; the text body (7) is not cut, its encoder
    // must keep lines short.
    for (i, f) in out.iter_mut().enumerate() {
        let max = match i {
            4 => 100,
            7 => usize::MAX,
            _ => 800,
        };
        if f.len() > max {
            let mut end = max;
            while !f.is_char_boundary(end) {
                end -= 1;
            }
            f.truncate(end);
        }
    }
    out
}

fn message(f: &[String]) -> MailData {
    let v = json!({
        "from": { "name": f[1], "address": "sender@example.com" },
        "to": [{ "name": f[2], "address": "rcpt@example.com" }],
        "replyTo": f[8],
        "subject": f[0],
        "text": f[7],
        "headers": { f[4].clone(): f[5] },
        "list": { "help": f[6] },
        "attachments": [{ "filename": f[3], "content": "attached" }],
        "date": 0,
        "messageId": "<fixed@example.com>"
    });
    serde_json::from_value(v).expect("the fuzz message is well-typed")
}

/// The body of an in-memory message never waits, so polling with a no-op waker finishes it.
fn render(data: MailData) -> Option<(Vec<u8>, mailer_message::Envelope)> {
    let compiled = match compile(data, Vec::new(), &ComposeOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            assert!(
                ["EMESSAGE", "EENVELOPE", "ESTREAM"].contains(&e.code),
                "unexpected error code {}",
                e.code
            );
            return None;
        }
    };
    let envelope = compiled.envelope.clone();
    let mut fut = pin!(compiled.body.to_vec());
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(r) => Some((r.expect("in-memory body cannot fail"), envelope)),
        Poll::Pending => panic!("an in-memory body must not wait"),
    }
}

fn header_fields(out: &[u8]) -> Vec<String> {
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header section ends with an empty line");
    let head = &out[..end];
    let mut names = Vec::new();
    // UTF-8 is legitimately kept (as nodemailer does) in a user-chosen field name and in
    // addresses (SMTPUTF8 mailboxes, here only Reply-To's are fuzzed) and in List-* URLs (a
    // `prepared` header in nodemailer); everything else is 7-bit
    let mut utf8_ok = false;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.first() {
            Some(b' ') | Some(b'\t') => {}
            _ => {
                let colon = line
                    .iter()
                    .position(|b| *b == b':')
                    .expect("a field has a colon");
                let name = &line[..colon];
                // (an empty name is possible: a custom key of only spaces/NULs/colons gives
                // ": value", exactly as nodemailer; it counts as the one custom field below)
                assert!(
                    name.iter().all(|b| *b > 32 && *b != 127),
                    "bad field name {:?}",
                    String::from_utf8_lossy(name)
                );
                utf8_ok = !name.is_ascii()
                    || name.eq_ignore_ascii_case(b"Reply-To")
                    || name.len() > 5 && name[..5].eq_ignore_ascii_case(b"List-");
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        assert!(
            utf8_ok || line.is_ascii(),
            "the header section is 7-bit: {:?}",
            String::from_utf8_lossy(line)
        );
    }
    names
}

pub fn check(data: &[u8]) {
    let f = fields(data);
    let Some((out, envelope)) = render(message(&f)) else {
        return;
    };
    for (i, b) in out.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}"),
            b'\r' => assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            _ => {}
        }
    }
    for line in out.split(|b| *b == b'\n') {
        assert!(
            line.len() <= 999,
            "line of {} octets: {:?}",
            line.len() - 1,
            String::from_utf8_lossy(&line[..60])
        );
    }
    // Every field is one the composer writes for this message (the root may be the attachment
    // itself when the text is empty), each at most once, plus at most one other: the custom
    // header, whose name must come from the custom key. A CR/LF smuggled into any value would
    // show up as an extra or repeated field.
    let names = header_fields(&out);
    // the composer drops spaces, control characters and colons from a key (as nodemailer)
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && !c.is_control() && *c != ':')
            .collect::<String>()
            // upper then lower: a case fold that also maps ß to the "SS" of a capitalised key
            .to_uppercase()
            .to_lowercase()
    };
    let key = squash(&f[4]);
    let mut seen = std::collections::HashSet::new();
    let mut extra = 0;
    for n in &names {
        let lower = n.to_lowercase();
        assert!(seen.insert(lower.clone()), "field {n:?} twice: {names:?}");
        if !STANDARD.contains(&lower.as_str()) {
            extra += 1;
            assert!(
                key.contains(&squash(&lower)),
                "field {n:?} not from the custom key {key:?}: {names:?}"
            );
        }
    }
    assert!(extra <= 1, "extra fields: {names:?}");
    for a in std::iter::once(&envelope.from).chain(envelope.to.iter()) {
        assert!(!a.contains(['\r', '\n', '\0']), "envelope address {a:?}");
    }
}
