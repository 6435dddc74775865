//! Invariants for `mailer_smtp::reply::ReplyParser`, shared by the cargo-fuzz target and
//! `crates/smtp/tests/fuzz_corpus.rs`.
//!
//! Input: `[s0, s1, s2, rep, payload...]`. The payload (repeated `2^(rep-0xF0)` times when
//! `rep >= 0xF0`, to reach the 64 KiB / 1 MiB bounds, capped at 2 MiB) is fed to the
//! incremental parser in chunks whose sizes cycle through values derived from s0..s2.
//! Checked against a whole-input reference model of nodemailer's reading:
//! same replies in the same order whatever the split, an error exactly when a line or a
//! reply is over its bound, and well-formed replies.

use mailer_smtp::reply::{Reply, ReplyParser, MAX_LINE, MAX_REPLY};

const CAP: usize = 2 * 1024 * 1024;

/// Reference: split on LF, drop one CR before it, skip empty lines between replies,
/// `^\d+-` continues; `Err(())` once a bound is broken (replies before it are kept).
fn model(input: &[u8]) -> (Vec<Reply>, bool) {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut current_bytes = 0usize;
    let mut segments: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    // the text after the last LF is an unterminated line
    let tail = segments.pop().unwrap_or(&[]);
    for seg in segments {
        let seg = seg.strip_suffix(b"\r").unwrap_or(seg);
        if seg.len() > MAX_LINE {
            return (out, true);
        }
        let line = String::from_utf8_lossy(seg).into_owned();
        if current.is_empty() && line.is_empty() {
            continue;
        }
        current_bytes += line.len() + 1;
        if current_bytes > MAX_REPLY {
            return (out, true);
        }
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let continues = digits > 0 && line.as_bytes().get(digits) == Some(&b'-');
        current.push(line);
        if !continues {
            let lines = std::mem::take(&mut current);
            current_bytes = 0;
            let code = lines[0][..lines[0].bytes().take_while(u8::is_ascii_digit).count()]
                .parse::<u16>()
                .unwrap_or(0);
            out.push(Reply { code, lines });
        }
    }
    (out, tail.len() > MAX_LINE + 1)
}

pub fn build_input(data: &[u8]) -> (Vec<usize>, Vec<u8>) {
    let (head, payload) = data.split_at(data.len().min(4));
    let get = |i: usize| head.get(i).copied().unwrap_or(0) as usize;
    let mut sizes = vec![get(0) % 7 + 1, get(1) % 61 + 1, get(2) * 37 + 1];
    let rep = get(3);
    let times = if rep >= 0xF0 {
        1usize << (rep - 0xF0).min(15)
    } else {
        1
    };
    let mut input = Vec::with_capacity((payload.len() * times).min(CAP));
    for _ in 0..times {
        if input.len() + payload.len() > CAP {
            break;
        }
        input.extend_from_slice(payload);
    }
    if input.len() > 64 * 1024 {
        // big inputs in bigger chunks: a million one-byte feeds would only slow the fuzzer
        for s in &mut sizes {
            *s *= 1024;
        }
    }
    (sizes, input)
}

pub fn check(data: &[u8]) {
    let (sizes, input) = build_input(data);
    let (expected, expect_err) = model(&input);

    let mut parser = ReplyParser::new();
    let mut got = Vec::new();
    let mut failed = false;
    let mut rest: &[u8] = &input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        i += 1;
        let (chunk, next) = rest.split_at(n);
        rest = next;
        let r = parser.feed(chunk);
        while let Some(reply) = parser.next_reply() {
            got.push(reply);
        }
        if let Err(e) = r {
            assert_eq!(e.code.as_str(), "EPROTOCOL");
            failed = true;
            break;
        }
    }
    assert_eq!(failed, expect_err, "error iff a bound is broken");
    assert_eq!(got, expected, "same replies whatever the split");
    for reply in &got {
        let (last, init) = reply.lines.split_last().expect("a reply has a line");
        assert!(
            !reply.lines[0].is_empty(),
            "a reply never starts with an empty line"
        );
        for line in &reply.lines {
            assert!(!line.contains('\n'), "no LF inside a reply line");
            assert!(line.len() <= 3 * MAX_LINE, "bounded line");
        }
        let cont = |l: &str| {
            let d = l.bytes().take_while(u8::is_ascii_digit).count();
            d > 0 && l.as_bytes().get(d) == Some(&b'-')
        };
        assert!(
            init.iter().all(|l| cont(l)),
            "only the last line ends the reply"
        );
        assert!(!cont(last), "the last line is not a continuation");
        assert_eq!(reply.text(), reply.lines.join("\n"));
    }
    if !failed {
        // whatever is left is an unterminated tail or an unfinished multi-line reply
        if let Some(p) = parser.pending_text() {
            assert!(!p.trim().is_empty());
        }
    }
}
