//! Connection URLs (nodemailer `shared.parseConnectionUrl` on top of its WHATWG URL wrapper).

use std::borrow::Cow;

use serde_json::{Map, Number, Value};
use url::{Host, Url};

use crate::ConfigError;

/// `createTransport` treats a string as a connection URL when it matches
/// `/^(smtps?|direct):/i` (no trimming).
pub fn is_connection_url(s: &str) -> bool {
    let lower = |n: usize| s.get(..n).map(str::to_ascii_lowercase);
    lower(5).as_deref() == Some("smtp:")
        || lower(6).as_deref() == Some("smtps:")
        || lower(7).as_deref() == Some("direct:")
}

/// Parses a connection URL into transport options, exactly as nodemailer does:
///
/// - `smtp:` → `secure: false`, `smtps:` → `secure: true`, `direct:` → `direct: true`
///   (scheme case-insensitive; other schemes set neither);
/// - `smtp:user:pass@host:port` (no `//`) is accepted;
/// - non-zero port → `port` (number); hostname → `host` (IPv6 brackets stripped, IDN →
///   punycode, lower-cased, IPv4 numbers normalised as WHATWG does);
/// - userinfo → `auth: { user, pass }`, percent-decoded (left as is if malformed);
/// - query: numeric strings → numbers (JS `Number()` rules, so `""` → 0), `"true"`/`"false"`
///   → booleans, repeated keys → array of strings, `tls.X` → `tls: { X }`, other dotted keys
///   and JS `Object.prototype` names ignored; a query key never overrides a key already set.
///
/// Deviations (documented): a query number that is not finite (`Infinity`, `1e999`) stays a
/// string (JSON has no Infinity). A port of digits above 65535 is kept, as nodemailer's legacy
/// fallback keeps it; the send fails at connect time.
pub fn parse_connection_url(input: &str) -> Result<Map<String, Value>, ConfigError> {
    let trimmed = input.trim_matches(|c: char| c <= '\u{20}');
    let normalized = insert_authority_slashes(trimmed);
    let mut options = Map::new();

    // A port of digits out of range (`:9998397`): nodemailer's legacy parser keeps it and the
    // send fails at connect time (ECONNECTION), so the URL is read without it and the
    // number put back.
    let mut big_port = None;
    let parsed = match Url::parse(&normalized) {
        Err(url::ParseError::InvalidPort) => match split_digit_port(&normalized) {
            Some((without, port)) => {
                big_port = Some(port);
                Url::parse(&without)
            }
            None => Err(url::ParseError::InvalidPort),
        },
        other => other,
    };
    let url = match parsed {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            // nodemailer falls back to legacy `url.parse`, which for relative input only
            // yields a query string (no scheme, host or auth reach the options).
            let query = normalized.split('#').next().unwrap_or("");
            if let Some((_, query)) = query.split_once('?') {
                apply_query(&mut options, form_urlencoded::parse(query.as_bytes()))?;
            }
            return Ok(options);
        }
        Err(_) => return Err(ConfigError::invalid_url()),
    };

    match url.scheme() {
        "smtp" => {
            options.insert("secure".into(), Value::Bool(false));
        }
        "smtps" => {
            options.insert("secure".into(), Value::Bool(true));
        }
        "direct" => {
            options.insert("direct".into(), Value::Bool(true));
        }
        _ => {}
    }

    // WHATWG drops a scheme's default port; port 0 is falsy in JS and skipped.
    if let Some(port) = url.port().filter(|p| *p != 0) {
        options.insert("port".into(), Value::from(port));
    } else if let Some(port) = big_port {
        options.insert("port".into(), Value::from(port));
    }

    if let Some(raw) = url.host_str() {
        let host = normalize_hostname(raw)?;
        if !host.is_empty() {
            options.insert("host".into(), Value::String(host));
        }
    }

    let (user, pass) = (url.username(), url.password().unwrap_or(""));
    if !user.is_empty() || !pass.is_empty() {
        let mut auth = Map::new();
        auth.insert("user".into(), Value::String(safe_decode(user)));
        auth.insert("pass".into(), Value::String(safe_decode(pass)));
        options.insert("auth".into(), Value::Object(auth));
    }

    apply_query(&mut options, url.query_pairs())?;
    Ok(options)
}

/// The URL without its port, and the port, when the authority ends in `:digits`.
fn split_digit_port(input: &str) -> Option<(String, u64)> {
    let start = input.find("://")? + 3;
    let end = input[start..]
        .find(['/', '?', '#'])
        .map_or(input.len(), |i| start + i);
    let authority = &input[start..end];
    let colon = start + authority.rfind(':')?;
    let digits = &input[colon + 1..end];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 15 {
        return None;
    }
    if input[start..colon].ends_with(']') || !input[start..colon].contains('[') {
        let port = digits.parse::<u64>().ok()?;
        return Some((format!("{}{}", &input[..colon], &input[end..]), port));
    }
    None
}

/// `scheme:rest` without `//` becomes `scheme://rest` (regex
/// `^([a-zA-Z][a-zA-Z0-9+.-]*:)(?!\/\/)([\s\S]+)$`), so the slash-less form has an authority.
fn insert_authority_slashes(input: &str) -> Cow<'_, str> {
    let bytes = input.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return Cow::Borrowed(input);
    }
    let scheme_len = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
        .unwrap_or(bytes.len());
    let (scheme, rest) = input.split_at(scheme_len);
    match rest.strip_prefix(':') {
        Some(after) if !after.is_empty() && !after.starts_with("//") => {
            Cow::Owned(format!("{scheme}://{after}"))
        }
        _ => Cow::Borrowed(input),
    }
}

/// The WHATWG forbidden host code points nodemailer checks before `domainToASCII`.
fn is_forbidden_host_char(c: char) -> bool {
    c <= '\u{20}'
        || c == '\u{7f}'
        || matches!(
            c,
            '#' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|'
        )
}

/// nodemailer `normalizeHostname`: bracketed IPv6 → bare address; anything else is
/// percent-decoded and run through the WHATWG host parser (Node's `url.domainToASCII`,
/// which `url::Host::parse` implements: IDNA/punycode, lower-casing, IPv4 numbers).
fn normalize_hostname(raw: &str) -> Result<String, ConfigError> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Ok(inner.to_string());
    }
    let decoded = safe_decode(raw);
    if decoded.chars().any(is_forbidden_host_char) {
        return Err(ConfigError::invalid_url());
    }
    match Host::parse(&decoded) {
        Ok(host) => Ok(host.to_string()),
        Err(_) => Err(ConfigError::invalid_url()),
    }
}

/// JS `decodeURIComponent` that returns the input unchanged when it would throw
/// (a `%` not followed by two hex digits, or bytes that are not UTF-8).
fn safe_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return s.to_string();
    }
    match percent_encoding::percent_decode_str(s).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => s.to_string(),
    }
}

/// Names every plain JS object already has (`key in {}` is true), which nodemailer's
/// `!(lKey in obj)` check therefore never sets.
fn is_object_prototype_name(key: &str) -> bool {
    matches!(
        key,
        "constructor"
            | "__defineGetter__"
            | "__defineSetter__"
            | "hasOwnProperty"
            | "__lookupGetter__"
            | "__lookupSetter__"
            | "isPrototypeOf"
            | "propertyIsEnumerable"
            | "toString"
            | "valueOf"
            | "__proto__"
            | "toLocaleString"
    )
}

/// JS truthiness of a JSON value.
pub(crate) fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Applies the query pairs to `options` (see [`parse_connection_url`]).
fn apply_query<'a>(
    options: &mut Map<String, Value>,
    pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
) -> Result<(), ConfigError> {
    // Group like `querystring.parse`: first-occurrence order, repeated keys → list.
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in pairs {
        match grouped.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value.into_owned()),
            None => grouped.push((key.into_owned(), vec![value.into_owned()])),
        }
    }

    for (key, mut values) in grouped {
        let value = match values.len() {
            1 => coerce_query_value(values.remove(0)),
            // an array: `isNaN([..])` is true and it matches no case, so it stays strings
            _ => Value::Array(values.into_iter().map(Value::String).collect()),
        };
        let (target, key) = if let Some(sub) = key.strip_prefix("tls.") {
            match options.get("tls") {
                Some(Value::Object(_)) => {}
                Some(Value::Array(_)) => continue, // JS sets a property no consumer sees
                Some(v) if is_truthy(v) => {
                    // nodemailer throws a TypeError (`'x' in <primitive>`) here
                    return Err(ConfigError::new(
                        "Invalid URL query: tls.* keys need tls to be an object",
                    ));
                }
                _ => {
                    options.insert("tls".into(), Value::Object(Map::new()));
                }
            }
            let Some(Value::Object(tls)) = options.get_mut("tls") else {
                continue;
            };
            (tls, sub.to_string())
        } else if key.contains('.') {
            continue;
        } else {
            (&mut *options, key)
        };
        if !is_object_prototype_name(&key) && !target.contains_key(&key) {
            target.insert(key, value);
        }
    }
    Ok(())
}

/// Query value coercion: numeric strings (JS `Number()`) → number, `"true"`/`"false"` →
/// boolean, anything else stays a string.
fn coerce_query_value(s: String) -> Value {
    if let Some(n) = js_string_to_number(&s) {
        if let Some(v) = number_value(n) {
            return v;
        }
        return Value::String(s);
    }
    match s.as_str() {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(s),
    }
}

/// An f64 as JSON: integral values within the safe integer range become integers (what JS
/// would print), other finite values floats; non-finite values cannot be JSON (`None`).
fn number_value(n: f64) -> Option<Value> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE {
        // exact: integral and within ±2^53
        return Some(Value::from(n as i64));
    }
    Number::from_f64(n).map(Value::Number)
}

/// JS whitespace and line terminators, which `Number()` trims.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// JS `Number(string)` (ECMAScript StringToNumber); `None` where JS gives `NaN`.
/// Written here because Rust's float parser accepts a different grammar (`inf`, `nan`,
/// no `0x`), and no small crate implements exactly this.
pub(crate) fn js_string_to_number(s: &str) -> Option<f64> {
    let s = s.trim_matches(is_js_whitespace);
    if s.is_empty() {
        return Some(0.0);
    }
    let radix = match s.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => Some(16),
        Some("0o") => Some(8),
        Some("0b") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let digits = &s[2..];
        if digits.is_empty() {
            return None;
        }
        let mut value = 0f64;
        for c in digits.chars() {
            value = value * f64::from(radix) + f64::from(c.to_digit(radix)?);
        }
        return Some(value);
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned == "Infinity" {
        return Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // StrUnsignedDecimalLiteral: digits [. digits] | . digits, then [e|E [+|-] digits]
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return None;
    }
    if let Some(exp) = exponent {
        let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if exp_digits.is_empty() || !all_digits(exp_digits) {
            return None;
        }
    }
    // The grammar is now a subset of what Rust's parser accepts, with the same value.
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Value {
        Value::Object(parse_connection_url(s).unwrap())
    }

    #[test]
    fn observed_reference_example() {
        assert_eq!(
            parse("smtps://us%40er:p%3Ass@smtp.example.com/?pool=true&maxConnections=3&tls.rejectUnauthorized=false&logger=false&name=foo"),
            json!({
                "secure": true, "host": "smtp.example.com",
                "auth": {"user": "us@er", "pass": "p:ss"},
                "pool": true, "maxConnections": 3,
                "tls": {"rejectUnauthorized": false}, "logger": false, "name": "foo"
            })
        );
    }

    #[test]
    fn slash_less_form() {
        assert_eq!(
            parse("smtp:user:pass@host:2525"),
            json!({"secure": false, "port": 2525, "host": "host",
                   "auth": {"user": "user", "pass": "pass"}})
        );
        // `smtp:/h` becomes `smtp:///h`: empty host, path `/h`
        assert_eq!(parse("smtp:/h"), json!({"secure": false}));
    }

    #[test]
    fn scheme_is_case_insensitive_and_host_lowercased() {
        assert_eq!(
            parse("SMTPS://H.example.COM"),
            json!({"secure": true, "host": "h.example.com"})
        );
        assert_eq!(parse("direct:"), json!({"direct": true}));
        assert_eq!(parse("direct://x"), json!({"direct": true, "host": "x"}));
        assert_eq!(parse("http://h:80"), json!({"host": "h"}));
    }

    #[test]
    fn ipv6_brackets_stripped() {
        assert_eq!(
            parse("smtp://[::1]:25"),
            json!({"secure": false, "port": 25, "host": "::1"})
        );
        assert_eq!(
            parse("smtp://[::ffff:1.2.3.4]"),
            json!({"secure": false, "host": "::ffff:102:304"})
        );
    }

    #[test]
    fn idn_and_encoded_hosts() {
        assert_eq!(
            parse("smtp://bücher.de"),
            json!({"secure": false, "host": "xn--bcher-kva.de"})
        );
        assert_eq!(
            parse("smtp://ex%41mple.com"),
            json!({"secure": false, "host": "example.com"})
        );
        // decoded twice, as nodemailer's decode + domainToASCII do
        assert_eq!(
            parse("smtp://ex%2541mple"),
            json!({"secure": false, "host": "example"})
        );
        assert_eq!(
            parse("smtp://0x7f.1"),
            json!({"secure": false, "host": "127.0.0.1"})
        );
        assert_eq!(parse("smtp://h."), json!({"secure": false, "host": "h."}));
    }

    #[test]
    fn userinfo_decoding() {
        assert_eq!(
            parse("smtp://u:a:b@h"),
            json!({"secure": false, "host": "h", "auth": {"user": "u", "pass": "a:b"}})
        );
        assert_eq!(
            parse("smtp://:pw@h"),
            json!({"secure": false, "host": "h", "auth": {"user": "", "pass": "pw"}})
        );
        assert_eq!(
            parse("smtp://user@h"),
            json!({"secure": false, "host": "h", "auth": {"user": "user", "pass": ""}})
        );
        assert_eq!(
            parse("smtp://us%20er:p%C3%A4ss@h"),
            json!({"secure": false, "host": "h", "auth": {"user": "us er", "pass": "päss"}})
        );
        // malformed escapes are kept as written (decodeURIComponent would throw)
        assert_eq!(
            parse("smtp://u%zz:p%E2@h"),
            json!({"secure": false, "host": "h", "auth": {"user": "u%zz", "pass": "p%E2"}})
        );
    }

    #[test]
    fn query_coercion() {
        assert_eq!(
            parse("smtp://h/?a.b=1&tls.x=2&tls.y=no&name=&n=0x10&f=1.5&e=1e3&neg=-4&sp=+&r=1&r=2&big=12345678901234567890&bool=TRUE"),
            json!({
                "secure": false, "host": "h", "tls": {"x": 2, "y": "no"},
                "name": 0, "n": 16, "f": 1.5, "e": 1000, "neg": -4, "sp": 0,
                "r": ["1", "2"], "big": 12345678901234567890f64, "bool": "TRUE"
            })
        );
        assert_eq!(
            parse("smtp://h?x=.5&y=1.&z=.&w=0b11&v=-0x10&u=1_0&t=%C2%A01&q=a+b%2Bc&s=1%20"),
            json!({"secure": false, "host": "h", "x": 0.5, "y": 1, "z": ".", "w": 3,
                   "v": "-0x10", "u": "1_0", "t": 1, "q": "a b+c", "s": 1})
        );
        // not finite: kept as the string (documented deviation; JS has Infinity)
        assert_eq!(
            parse("smtp://h?i=Infinity"),
            json!({"secure": false, "host": "h", "i": "Infinity"})
        );
    }

    #[test]
    fn query_never_overrides_url_parts_or_earlier_keys() {
        assert_eq!(
            parse("smtps://h:465?secure=false&port=99&host=x&auth=1&Name=a&name=b"),
            json!({"secure": true, "port": 465, "host": "h", "auth": 1, "Name": "a", "name": "b"})
        );
        assert_eq!(
            parse("smtp://h?tls.a=1&tls=2"),
            json!({"secure": false, "host": "h", "tls": {"a": 1}})
        );
        assert_eq!(
            parse("smtp://h?tls.servername=a&tls.servername=b"),
            json!({"secure": false, "host": "h", "tls": {"servername": ["a", "b"]}})
        );
        assert_eq!(
            parse("smtp://h/?constructor=1&__proto__=2&toString=3&tls.valueOf=4"),
            json!({"secure": false, "host": "h", "tls": {}})
        );
        // a falsy tls value is replaced by an object, as `if (!options.tls)` does
        assert_eq!(
            parse("smtp://h?tls=false&tls.a=1"),
            json!({"secure": false, "host": "h", "tls": {"a": 1}})
        );
    }

    #[test]
    fn truthy_primitive_tls_then_tls_key_is_an_error() {
        let err = parse_connection_url("smtp://h?tls=1&tls.a=2").unwrap_err();
        assert_eq!(err.code, "ECONFIG");
        assert_eq!(
            err.message,
            "Invalid URL query: tls.* keys need tls to be an object"
        );
    }

    #[test]
    fn port_zero_skipped_and_whitespace_trimmed() {
        assert_eq!(parse("smtp://h:0"), json!({"secure": false, "host": "h"}));
        assert_eq!(parse(" smtp://h \n"), json!({"secure": false, "host": "h"}));
        assert_eq!(parse("smtp://"), json!({"secure": false}));
        assert_eq!(
            parse("smtp://h#frag?x=1"),
            json!({"secure": false, "host": "h"})
        );
    }

    #[test]
    fn relative_input_only_yields_its_query() {
        assert_eq!(parse(""), json!({}));
        assert_eq!(parse("foo"), json!({}));
        assert_eq!(
            parse("foo?port=25&x=true&tls.a=1"),
            json!({"port": 25, "x": true, "tls": {"a": 1}})
        );
        assert_eq!(parse("//h:25?a=1"), json!({"a": 1}));
    }

    #[test]
    fn invalid_urls_never_echo_credentials() {
        for bad in [
            "smtp://user:s3cret@h:abc",
            "smtp://[bad",
            "smtp://a b",
            "smtp://u:s3cret@",
            "smtp://%5B::1%5D",
            "smtp://1.2.3.256",
        ] {
            let err = parse_connection_url(bad).unwrap_err();
            assert_eq!(err.code, "ECONFIG", "{bad}");
            assert_eq!(err.message, "Invalid URL", "{bad}");
            assert!(!format!("{err} {err:?}").contains("s3cret"));
        }
    }

    #[test]
    fn out_of_range_ports_are_kept_for_connect_time() {
        let o = parse_connection_url("smtp://u:p@localhost:9998397").unwrap();
        assert_eq!(o["port"], 9998397);
        assert_eq!(o["host"], "localhost");
        assert_eq!(o["auth"]["user"], "u");
        let o = parse_connection_url("smtps://h:65536/?pool=true").unwrap();
        assert_eq!(
            (o["port"].as_u64(), o["pool"].as_bool()),
            (Some(65536), Some(true))
        );
        let o = parse_connection_url("smtp://[::1]:70000").unwrap();
        assert_eq!(
            (o["port"].as_u64(), o["host"].as_str()),
            (Some(70000), Some("::1"))
        );
        for bad in ["smtp://h:-1", "smtp://h:1.5", "smtp://h:abc"] {
            assert!(parse_connection_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_url_detection() {
        for yes in ["smtp:", "SMTPS://h", "Direct:", "smtp:u:p@h"] {
            assert!(is_connection_url(yes), "{yes}");
        }
        for no in [" smtp://h", "http://h", "smtpx://h", "smt", "", "ü"] {
            assert!(!is_connection_url(no), "{no}");
        }
    }

    #[test]
    fn js_number_rules() {
        let cases: [(&str, Option<f64>); 16] = [
            ("", Some(0.0)),
            ("  \t", Some(0.0)),
            ("12", Some(12.0)),
            ("+1.5", Some(1.5)),
            ("-.5e1", Some(-5.0)),
            ("1e", None),
            ("e1", None),
            ("0X1f", Some(31.0)),
            ("0o17", Some(15.0)),
            ("0b", None),
            ("0x1g", None),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("inf", None),
            ("NaN", None),
            ("1 2", None),
            ("\u{3000}7\u{feff}", Some(7.0)),
        ];
        for (input, expected) in cases {
            assert_eq!(js_string_to_number(input), expected, "{input:?}");
        }
    }
}
