//! Input types, deserialised from the JS message object (field names as in nodemailer).

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

use crate::js_number::js_number_string;

/// An address field: `"a@b, Name <c@d>"`, `{name, address}`, or a (nested) list of those.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(from = "AddressWire")]
pub enum AddressInput {
    Text(String),
    List(Vec<AddressInput>),
    Object {
        name: Option<String>,
        address: Option<String>,
        group: Option<Vec<AddressInput>>,
    },
}

/// How an address field arrives. Besides the user's shapes, a long list of plain strings may
/// come as one string, the entries separated by NUL (`{ "$addressList": "a@b\0c@d" }`, see
/// `lib/message.js`): reading 100,000 array entries one by one through napi would hold Node's
/// thread ~0.1 s. No entry can contain NUL (the JS side joins only lists without one), so
/// splitting gives back exactly the list.
#[derive(Deserialize)]
#[serde(untagged)]
enum AddressWire {
    Text(String),
    // before Object: an untagged struct variant would also accept a sequence
    List(Vec<AddressInput>),
    // before Object, which has no required field
    Joined {
        #[serde(rename = "$addressList")]
        joined: String,
    },
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        address: Option<String>,
        #[serde(default)]
        group: Option<Vec<AddressInput>>,
    },
}

impl From<AddressWire> for AddressInput {
    fn from(w: AddressWire) -> Self {
        match w {
            AddressWire::Text(t) => AddressInput::Text(t),
            AddressWire::List(l) => AddressInput::List(l),
            AddressWire::Joined { joined } => AddressInput::List(
                joined
                    .split('\0')
                    .map(|s| AddressInput::Text(s.to_string()))
                    .collect(),
            ),
            AddressWire::Object {
                name,
                address,
                group,
            } => AddressInput::Object {
                name,
                address,
                group,
            },
        }
    }
}

/// Body content: a string, a Buffer passed out of band, or a descriptor object.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ContentInput {
    Text(String),
    BufferRef {
        #[serde(rename = "$bufferIndex")]
        index: usize,
    },
    Object(Box<ContentObject>),
}

/// `string | false` for attachment filenames.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FilenameInput {
    Name(String),
    Flag(bool),
}

/// `{content?, path?, href?, encoding?, raw?, contentType?, ...}` for text/html/icalEvent/alternatives.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ContentObject {
    pub content: Option<ContentInput>,
    pub path: Option<String>,
    pub href: Option<String>,
    pub encoding: Option<String>,
    pub raw: Option<ContentInput>,
    pub content_type: Option<String>,
    pub content_transfer_encoding: Option<serde_json::Value>,
    pub headers: Option<HeadersInput>,
    pub filename: Option<FilenameInput>,
    /// icalEvent only
    pub method: Option<String>,
    /// request headers for `href`
    pub http_headers: Option<HttpHeaders>,
    /// `{ca, rejectUnauthorized}` for an `https` `href`
    pub tls: Option<TlsInput>,
}

/// TLS options of an `href` fetch (other node TLS keys are ignored).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TlsInput {
    /// PEM certificate(s) that replace the default roots
    pub ca: Option<StringOrList>,
    pub reject_unauthorized: Option<bool>,
}

/// An attachment (also used for `alternatives`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Attachment {
    pub filename: Option<FilenameInput>,
    pub content: Option<ContentInput>,
    pub path: Option<String>,
    pub href: Option<String>,
    pub encoding: Option<String>,
    pub content_type: Option<String>,
    pub content_disposition: Option<String>,
    pub cid: Option<String>,
    pub headers: Option<HeadersInput>,
    pub raw: Option<ContentInput>,
    /// absent: default; a string: that CTE; `false`: no CTE header from the composer
    pub content_transfer_encoding: Option<serde_json::Value>,
    /// request headers for `href`
    pub http_headers: Option<HttpHeaders>,
    /// `{ca, rejectUnauthorized}` for an `https` `href`
    pub tls: Option<TlsInput>,
}

/// A custom header value: `v`, `[v1, v2]`, `{prepared, value, foldLines}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum HeaderValueInput {
    Text(String),
    Number(f64),
    Bool(bool),
    List(Vec<HeaderValueInput>),
    Object {
        #[serde(default)]
        value: Option<Box<HeaderValueInput>>,
        #[serde(default)]
        prepared: bool,
        #[serde(default, rename = "foldLines")]
        fold_lines: bool,
    },
}

/// `[{key, value}]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HeaderEntry {
    pub key: String,
    pub value: HeaderValueInput,
}

/// `headers`: an object (insertion order kept) or a list of `{key, value}`.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadersInput {
    List(Vec<HeaderEntry>),
    Map(Vec<(String, HeaderValueInput)>),
}

impl<'de> Deserialize<'de> for HeadersInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeadersInput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a headers object or an array of {key, value}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // a map visitor, not serde_json::Map: the key order is the header order
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Option<HeaderValueInput>>()? {
                    if let Some(v) = v {
                        out.push((k, v));
                    }
                }
                Ok(HeadersInput::Map(out))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = seq.next_element::<HeaderEntry>()? {
                    out.push(e);
                }
                Ok(HeadersInput::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// An ordered JSON object (key order preserved without serde_json's `preserve_order`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderedMap(pub Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `httpHeaders` of an `href`: each value as the text Node's http module sends for it (see
/// [`HttpHeaderValue`]), in the user's key order; values it cannot send as one line are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpHeaders(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for HttpHeaders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HttpHeaders;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, HttpHeaderValue>()? {
                    if let Some(v) = v.0 {
                        out.push((k, v));
                    }
                }
                Ok(HttpHeaders(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One `httpHeaders` value as text, as nodemailer's lib/fetch sends it (Node's http writes
/// `String(v)`): a string as it is, a number as JS prints it (`1.5e+21`), a boolean as
/// `true`/`false`. `None` for anything else (null, objects, lists), which is not sent. Both
/// the composer and the JSON transport read their `httpHeaders` through this.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpHeaderValue(pub Option<String>);

impl<'de> Deserialize<'de> for HttpHeaderValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HttpHeaderValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a header value")
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(Some(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(Some(s)))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(Some(b.to_string())))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(Some(js_number_string(n as f64))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(Some(js_number_string(n as f64))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(Some(js_number_string(n))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(HttpHeaderValue(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(HttpHeaderValue(None))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(HttpHeaderValue(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `string | string[]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

/// `date`: a string used as is, or milliseconds since the epoch (a JS `Date`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DateInput {
    Text(String),
    Millis(f64),
}

/// One object or a list of them (`[].concat(x)` in nodemailer).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![t],
        }
    }
}

/// The `envelope` override: from/to/cc/bcc plus anything else (size, use8BitMime, dsn...).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EnvelopeInput {
    pub from: Option<AddressInput>,
    pub to: Option<AddressInput>,
    pub cc: Option<AddressInput>,
    pub bcc: Option<AddressInput>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The message object given to `sendMail`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct MailData {
    pub from: Option<AddressInput>,
    pub sender: Option<AddressInput>,
    pub to: Option<AddressInput>,
    pub cc: Option<AddressInput>,
    pub bcc: Option<AddressInput>,
    pub reply_to: Option<AddressInput>,
    pub in_reply_to: Option<String>,
    pub references: Option<StringOrList>,
    pub subject: Option<String>,
    pub text: Option<ContentInput>,
    pub html: Option<ContentInput>,
    pub watch_html: Option<ContentInput>,
    pub amp: Option<ContentInput>,
    pub ical_event: Option<ContentInput>,
    pub alternatives: Option<OneOrMany<Attachment>>,
    pub attachments: Option<OneOrMany<Attachment>>,
    pub headers: Option<HeadersInput>,
    pub list: Option<OrderedMap>,
    pub envelope: Option<EnvelopeInput>,
    pub message_id: Option<String>,
    pub date: Option<DateInput>,
    pub encoding: Option<String>,
    pub text_encoding: Option<String>,
    pub priority: Option<String>,
    pub raw: Option<ContentInput>,
    pub x_mailer: Option<serde_json::Value>,
    pub attach_data_urls: Option<bool>,
    pub disable_file_access: Option<bool>,
    pub disable_url_access: Option<bool>,
    pub base_boundary: Option<String>,
    pub boundary_prefix: Option<String>,
    /// nodemailer's `normalizeHeaderKey` callback, applied by the JS layer ahead of time:
    /// default-normalised key → the key to write (the callback itself cannot cross threads).
    pub header_key_map: Option<std::collections::HashMap<String, String>>,
    /// `None`: the key is absent (nodemailer's default limit applies); `Some(Null)`: `null`.
    #[serde(deserialize_with = "present")]
    pub max_recipients: Option<serde_json::Value>,
}

/// A present key, even `null`, is `Some` (a plain `Option` makes `null` and absent the same).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// nodemailer's recipient limit when a message sets none (`lib/mailer/index.js`).
pub const DEFAULT_MAX_RECIPIENTS: u64 = 100_000;

/// JS `Number(s)` for the strings a limit may plausibly be given as.
fn js_string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        // Rust also reads "inf" and "nan", JS does not
        _ if t
            .chars()
            .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E')) =>
        {
            f64::NAN
        }
        _ => t.parse().unwrap_or(f64::NAN),
    }
}

impl ContentInput {
    /// Bytes of string content held inline (Buffers and files are not counted).
    fn inline_len(&self) -> usize {
        match self {
            ContentInput::Text(t) => t.len(),
            ContentInput::BufferRef { .. } => 0,
            ContentInput::Object(o) => {
                o.content.as_ref().map_or(0, |c| c.inline_len())
                    + o.raw.as_ref().map_or(0, |c| c.inline_len())
            }
        }
    }
}

impl AddressInput {
    /// At least the number of addresses it holds, counted cheaply (list entries; separators of
    /// text); never less, so a caller can tell a long list without parsing it.
    fn count_hint(&self) -> usize {
        match self {
            AddressInput::Text(t) => 1 + t.bytes().filter(|b| matches!(b, b',' | b';')).count(),
            AddressInput::List(l) => l.iter().map(AddressInput::count_hint).sum(),
            AddressInput::Object { group, .. } => {
                1 + group
                    .as_ref()
                    .map_or(0, |g| g.iter().map(AddressInput::count_hint).sum())
            }
        }
    }
}

impl Attachment {
    fn inline_len(&self) -> usize {
        self.content.as_ref().map_or(0, |c| c.inline_len())
            + self.raw.as_ref().map_or(0, |c| c.inline_len())
    }
}

impl MailData {
    /// The recipient limit as nodemailer applies it: `maxRecipients` when set, else 100,000; a
    /// falsy value (`0`, `false`, `null`, `''`) means none; the comparison `count > limit` is
    /// JavaScript's, so a string is read as a number and a non-number never matches. Returns
    /// the limit and how it is written in the error message.
    pub fn recipient_limit(&self) -> Option<(f64, String)> {
        use serde_json::Value;
        let v = match &self.max_recipients {
            None => {
                return Some((
                    DEFAULT_MAX_RECIPIENTS as f64,
                    DEFAULT_MAX_RECIPIENTS.to_string(),
                ))
            }
            Some(v) => v,
        };
        let (n, shown) = match v {
            Value::Null | Value::Bool(false) => return None,
            Value::Bool(true) => (1.0, "true".to_string()),
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                let shown = if f.fract() == 0.0 && f.abs() < 1e21 {
                    format!("{}", f as i64)
                } else {
                    f.to_string()
                };
                (f, shown)
            }
            Value::String(s) if s.is_empty() => return None,
            Value::String(s) => (js_string_to_number(s), s.clone()),
            // an object or array compares as NaN (a one-element array aside, ignored here)
            _ => return None,
        };
        if n == 0.0 || n.is_nan() {
            return None;
        }
        Some((n, shown))
    }

    /// An upper bound of the recipients (To, Cc, Bcc, and the envelope's): lets a caller on a
    /// latency-sensitive thread hand a long list to another thread, as composing it (parsing,
    /// normalising, de-duplicating, encoding the headers) costs time in proportion.
    pub fn recipient_count_hint(&self) -> usize {
        let mut fields = vec![&self.to, &self.cc, &self.bcc];
        if let Some(e) = &self.envelope {
            fields.extend([&e.to, &e.cc, &e.bcc]);
        }
        fields
            .into_iter()
            .flatten()
            .map(AddressInput::count_hint)
            .sum()
    }

    /// Bytes of string content the composer will encode in memory: body fields and the string
    /// `content`/`raw` of attachments and alternatives. Lets a caller on a latency-sensitive
    /// thread (Node's) hand large messages to another thread for composition.
    pub fn inline_len(&self) -> usize {
        let fields = [
            &self.text,
            &self.html,
            &self.watch_html,
            &self.amp,
            &self.ical_event,
            &self.raw,
        ];
        let lists = [&self.attachments, &self.alternatives];
        fields
            .iter()
            .map(|f| f.as_ref().map_or(0, |c| c.inline_len()))
            .sum::<usize>()
            + lists
                .iter()
                .map(|l| match l {
                    Some(OneOrMany::Many(v)) => v.iter().map(Attachment::inline_len).sum(),
                    Some(OneOrMany::One(a)) => a.inline_len(),
                    None => 0,
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deserialises_flexible_forms() {
        // from_str, not from_value: serde_json::Value sorts object keys
        let d: MailData = serde_json::from_str(
            r#"{
            "from": {"name": "A", "address": "a@b.c"},
            "to": ["x@y.z", {"address": "q@r.s"}],
            "text": {"$bufferIndex": 0},
            "html": {"path": "/tmp/x.html"},
            "headers": {"X-B": "1", "X-A": ["2", "3"], "X-P": {"prepared": true, "value": "v"}},
            "attachments": {"filename": false, "content": "x"},
            "references": ["a@b", "c@d"],
            "date": 0,
            "envelope": {"from": "f@g.h", "to": "t@u.v", "size": 10},
            "unknownField": 1
        }"#,
        )
        .unwrap();
        assert_eq!(d.text, Some(ContentInput::BufferRef { index: 0 }));
        assert!(matches!(d.to, Some(AddressInput::List(ref l)) if l.len() == 2));
        match d.headers {
            Some(HeadersInput::Map(m)) => {
                assert_eq!(
                    m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
                    vec!["X-B", "X-A", "X-P"]
                );
            }
            other => panic!("{other:?}"),
        }
        let a = d.attachments.unwrap().into_vec();
        assert_eq!(a[0].filename, Some(FilenameInput::Flag(false)));
        assert_eq!(d.date, Some(DateInput::Millis(0.0)));
        assert_eq!(d.envelope.unwrap().extra.get("size"), Some(&json!(10)));
    }

    #[test]
    fn recipient_limit_follows_javascript() {
        let limit = |json: &str| {
            serde_json::from_str::<MailData>(json)
                .unwrap()
                .recipient_limit()
        };
        assert_eq!(limit("{}"), Some((100_000.0, "100000".into())));
        assert_eq!(limit(r#"{"maxRecipients": 10}"#), Some((10.0, "10".into())));
        assert_eq!(
            limit(r#"{"maxRecipients": "10"}"#),
            Some((10.0, "10".into()))
        );
        assert_eq!(
            limit(r#"{"maxRecipients": 2.5}"#),
            Some((2.5, "2.5".into()))
        );
        assert_eq!(
            limit(r#"{"maxRecipients": true}"#),
            Some((1.0, "true".into()))
        );
        for off in ["null", "false", "0", "\"\"", "\"abc\"", "{}", "\"nan\""] {
            assert_eq!(
                limit(&format!(r#"{{"maxRecipients": {off}}}"#)),
                None,
                "{off}"
            );
        }
    }

    #[test]
    fn inline_len_counts_string_content_only() {
        let d: MailData = serde_json::from_str(
            r#"{
            "text": "12345",
            "html": {"content": "123"},
            "attachments": [{"content": "1234567890"}, {"content": {"$bufferIndex": 0}}, {"path": "/x"}],
            "alternatives": {"raw": "12"}
        }"#,
        )
        .unwrap();
        assert_eq!(d.inline_len(), 5 + 3 + 10 + 2);
        assert_eq!(MailData::default().inline_len(), 0);
    }

    #[test]
    fn a_joined_address_list_is_the_list() {
        let joined: MailData =
            serde_json::from_str(r#"{"to": {"$addressList": "a@x\u0000\u0000B <b@x>, c@x"}}"#)
                .unwrap();
        let plain: MailData =
            serde_json::from_str(r#"{"to": ["a@x", "", "B <b@x>, c@x"]}"#).unwrap();
        assert_eq!(joined.to, plain.to);
        // an object with other keys is still an address object
        let o: MailData =
            serde_json::from_str(r#"{"to": {"name": "N", "address": "n@x"}}"#).unwrap();
        assert_eq!(
            o.to,
            Some(AddressInput::Object {
                name: Some("N".into()),
                address: Some("n@x".into()),
                group: None
            })
        );
    }

    #[test]
    fn http_header_values_are_sent_as_node_writes_them() {
        let h: HttpHeaders = serde_json::from_str(
            r#"{"X-S": "s", "X-I": 42, "X-M": -3, "X-D": 0.000001, "X-G": 1.5e21, "X-B": true,
                "X-F": false, "X-Nul": null, "X-O": {"a": 1}, "X-A": [1, "b"]}"#,
        )
        .unwrap();
        let expected = [
            ("X-S", "s"),
            ("X-I", "42"),
            ("X-M", "-3"),
            ("X-D", "0.000001"),
            ("X-G", "1.5e+21"),
            ("X-B", "true"),
            ("X-F", "false"),
        ];
        assert_eq!(
            h.0,
            expected
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
        // not an object: the message is refused, as before
        assert!(serde_json::from_str::<HttpHeaders>(r#""x""#).is_err());
    }

    #[test]
    fn recipient_count_hint_is_an_upper_bound() {
        let d: MailData = serde_json::from_str(
            r#"{
            "to": "a@x, b@x; c@x",
            "cc": ["d@x", {"address": "e@x"}, ["f@x", "g@x, h@x"]],
            "bcc": {"name": "G", "group": ["i@x", "j@x"]},
            "envelope": {"to": "k@x"}
        }"#,
        )
        .unwrap();
        assert_eq!(d.recipient_count_hint(), 3 + 5 + 3 + 1);
        assert_eq!(MailData::default().recipient_count_hint(), 0);
    }
}
