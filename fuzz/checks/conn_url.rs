//! Invariants for `mailer_config::parse_connection_url`, shared by the cargo-fuzz target and
//! `crates/config/tests/fuzz_corpus.rs`. Input: any bytes, read as lossy UTF-8.

use mailer_config::parse_connection_url;
use serde_json::Value;

pub fn check(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    match parse_connection_url(&input) {
        Err(e) => {
            assert_eq!(e.code, "ECONFIG");
            // the URL may carry a password: the message never echoes it
            assert_eq!(e.message, "Invalid URL");
        }
        Ok(map) => {
            // with no `?`, `port`, `host` and `auth` can only come from the URL itself (query
            // keys of the same names pass through as any other key, as in nodemailer)
            let from_url = |k: &str| map.get(k).filter(|_| !input.contains('?'));
            if let Some(port) = from_url("port") {
                // above 65535 is kept, as nodemailer keeps it (the send fails at connect time)
                let p = port.as_u64().expect("port is an integer");
                assert!(p >= 1, "port {p}");
            }
            if let Some(host) = from_url("host") {
                let h = host.as_str().expect("host is a string");
                assert!(!h.is_empty());
                assert!(
                    !h.chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "/@?#[]\\".contains(c)),
                    "host {h:?}"
                );
            }
            // set from the scheme for smtp/smtps/direct; with another scheme a query
            // `secure=x` stays a string, as in nodemailer
            let lower = input.trim_matches(|c: char| c <= ' ').to_ascii_lowercase();
            let scheme_key = if lower.starts_with("smtp:") || lower.starts_with("smtps:") {
                Some("secure")
            } else if lower.starts_with("direct:") {
                Some("direct")
            } else {
                None
            };
            if let Some(key) = scheme_key {
                assert!(
                    map.get(key).is_some_and(Value::is_boolean),
                    "{key} is a boolean"
                );
            }
            if let Some(auth) = from_url("auth") {
                let a = auth.as_object().expect("auth is an object");
                for k in ["user", "pass"] {
                    assert!(
                        a.get(k).is_none_or(Value::is_string),
                        "auth.{k} is a string"
                    );
                }
            }
            // (`tls` itself may be any value: `?tls=1` gives `tls: 1` in nodemailer too)
            // names on Object.prototype never become keys (nodemailer's `key in options`
            // check skips them; `prototype` is not one of them)
            for k in [
                "__proto__",
                "constructor",
                "toString",
                "hasOwnProperty",
                "valueOf",
            ] {
                assert!(!map.contains_key(k), "prototype key {k}");
            }
            assert_eq!(
                parse_connection_url(&input).ok(),
                Some(map),
                "deterministic"
            );
        }
    }
}
