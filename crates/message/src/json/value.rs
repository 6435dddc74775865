//! The JSON transport's value tree: JSON with object key order kept, read from the JS message
//! and written back as `JSON.stringify` writes it.
//!
//! JS objects keep their key order and nodemailer's output is compared as a string, so this is
//! a tree of its own rather than `serde_json::Value` (which sorts keys without the
//! workspace-wide `preserve_order` feature). It is also a serde [`Deserializer`], so the
//! composer's [`MailData`](crate::MailData) is read straight from it, with numbers seen as they
//! would be after a trip through `JSON.stringify` and `JSON.parse`.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::encoding as enc;
use crate::js_number::js_number_string;

/// A JSON value with object key order kept. `Bytes` only appears while normalising (a resolved
/// Buffer); it is written as `JSON.stringify` writes a Buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
    Bytes(Vec<u8>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Json, D2::Error> {
                Json::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Num(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Num(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
                Ok(Json::Num(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Json>()? {
                    out.push(v);
                }
                Ok(Json::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut out: Vec<(String, Json)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    // a repeated key keeps its first position, as in a JS object
                    match out.iter_mut().find(|(ok, _)| *ok == k) {
                        Some(e) => e.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Ok(Json::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Json {
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `obj[key] = v`: in place when the key exists, else appended.
    pub(crate) fn set(&mut self, key: &str, v: Json) {
        if let Json::Obj(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = v,
                None => m.push((key.to_string(), v)),
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let Json::Obj(m) = self {
            m.retain(|(k, _)| k != key);
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Obj(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn truthy(&self) -> bool {
        match self {
            Json::Null | Json::Bool(false) => false,
            Json::Num(n) => *n != 0.0 && !n.is_nan(),
            Json::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string field that is set (truthy).
    pub(crate) fn str_of(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `{"$bufferIndex": n}`: a Buffer passed out of band.
    pub(crate) fn buffer_index(&self) -> Option<usize> {
        match self {
            Json::Obj(m) if m.len() == 1 && m[0].0 == "$bufferIndex" => match m[0].1 {
                Json::Num(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as usize),
                _ => None,
            },
            _ => None,
        }
    }

    /// A plain object: not a Buffer, not an array.
    pub(crate) fn is_plain_obj(&self) -> bool {
        matches!(self, Json::Obj(_)) && self.buffer_index().is_none()
    }

    /// `JSON.stringify`.
    pub fn stringify(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(&js_number(*n)),
            Json::Str(s) => out.push_str(&enc::json_quote(s)),
            Json::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&enc::json_quote(k));
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            Json::Bytes(b) => {
                // Buffer#toJSON
                out.push_str("{\"type\":\"Buffer\",\"data\":[");
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&x.to_string());
                }
                out.push_str("]}");
            }
        }
    }
}

/// JS number to string, as `JSON.stringify` writes it (non-finite: `null`).
pub(crate) fn js_number(n: f64) -> String {
    if n.is_finite() {
        js_number_string(n)
    } else {
        "null".into()
    }
}

/// Reading the tree into a typed value (the composer's `MailData`) as `serde_json` would read
/// its `stringify`d text: non-finite numbers are `null`, a number is an unsigned or signed
/// integer when its JS text is one that fits, else a float.
impl<'de> Deserializer<'de> for &'de Json {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Json::Null => visitor.visit_unit(),
            Json::Bool(b) => visitor.visit_bool(*b),
            Json::Num(n) => visit_number(*n, visitor),
            Json::Str(s) => visitor.visit_borrowed_str(s),
            Json::Arr(a) => {
                let mut seq = de::value::SeqDeserializer::new(a.iter());
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Json::Obj(m) => {
                let entries = m.iter().map(|(k, v)| (k.as_str(), v));
                let mut map = de::value::MapDeserializer::new(entries);
                let v = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(v)
            }
            // only made while normalising, never read back
            Json::Bytes(_) => Err(de::Error::custom("a Buffer cannot be read back")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Json::Null => visitor.visit_none(),
            Json::Num(n) if !n.is_finite() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, de::value::Error> for &'de Json {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// A number as `serde_json` reads the text `JSON.stringify` writes for it.
fn visit_number<'de, V: Visitor<'de>>(n: f64, visitor: V) -> Result<V::Value, de::value::Error> {
    if !n.is_finite() {
        return visitor.visit_unit();
    }
    let text = js_number_string(n);
    if let Ok(u) = text.parse::<u64>() {
        return visitor.visit_u64(u);
    }
    if let Ok(i) = text.parse::<i64>() {
        return visitor.visit_i64(i);
    }
    visitor.visit_f64(n)
}

impl Json {
    /// `T` read from the tree (see the [`Deserializer`] impl).
    pub(crate) fn read<'de, T: Deserialize<'de>>(&'de self) -> Result<T, de::value::Error> {
        T::deserialize(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_writes_non_finite_numbers_as_null() {
        // JSON.stringify writes non-finite numbers as null
        assert_eq!(js_number(f64::NAN), "null");
        assert_eq!(js_number(f64::NEG_INFINITY), "null");
        assert_eq!(js_number(-0.0), "0");
    }

    #[test]
    fn key_order_and_buffers() {
        let v: Json =
            serde_json::from_str(r#"{"b":1,"a":[true,null,2.5],"c":{"z":"\u0001\"","y":{}}}"#)
                .unwrap();
        assert_eq!(
            v.stringify(),
            r#"{"b":1,"a":[true,null,2.5],"c":{"z":"\u0001\"","y":{}}}"#
        );
        assert_eq!(
            Json::Bytes(vec![1, 255]).stringify(),
            r#"{"type":"Buffer","data":[1,255]}"#
        );
    }

    /// `MailData` read from the tree is what the earlier route (stringify, then
    /// `serde_json::from_str`) read: the committed nodemailer cases plus odd numbers, nulls,
    /// repeated keys, nested objects and arrays.
    #[test]
    fn reads_mail_data_as_the_text_route_did() {
        let fixtures = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../__test__/fixtures/compose/json-cases.json"
        );
        let text = std::fs::read_to_string(fixtures).unwrap();
        let mut inputs = Vec::new();
        let mut rest = text.as_str();
        while let Some(p) = rest.find("\"input\": ") {
            rest = &rest[p + "\"input\": ".len()..];
            let mut de = serde_json::Deserializer::from_str(rest);
            inputs.push(Json::deserialize(&mut de).unwrap());
        }
        assert_eq!(inputs.len(), 10);
        let odd = [
            r#"{"to":"a@b.c","to":"d@e.f","subject":null,"date":1e21,"maxRecipients":1e-7,"headers":{"X-A":5,"X-B":[1.5,-0,true],"X-C":{"value":9300000000000000000,"prepared":true}},"list":{"help":[{"url":"x@y.z","comment":"c"}]},"envelope":{"from":"s@t.u","to":["v@w.x"],"size":-9300000000000000000,"dsn":{"ret":"HDRS"}},"xMailer":123456789012345680000,"attachments":[{"content":"x","filename":false},{"content":{"$bufferIndex":0}},{"path":"data:,a"}],"text":{"content":"t","encoding":"utf8"}}"#,
            r#"{"to":[{"name":"N","address":"n@o.p"},["q@r.s"]],"headers":[{"key":"K","value":"V"}],"references":["<a@b>","<c@d>"],"maxRecipients":null,"priority":"high","icalEvent":{"method":"request","content":"BEGIN"}}"#,
        ];
        for o in odd {
            inputs.push(serde_json::from_str(o).unwrap());
        }
        // numbers that are not finite reach the text route as null
        inputs.push(Json::Obj(vec![
            ("to".into(), Json::Str("a@b.c".into())),
            ("maxRecipients".into(), Json::Num(f64::NAN)),
            ("date".into(), Json::Num(f64::INFINITY)),
            ("xMailer".into(), Json::Num(-0.0)),
        ]));
        for (i, input) in inputs.iter().enumerate() {
            let direct: Result<crate::MailData, _> = input.read();
            let via_text: Result<crate::MailData, _> = serde_json::from_str(&input.stringify());
            match (direct, via_text) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "input {i}"),
                (a, b) => panic!("input {i}: {a:?} vs {b:?}"),
            }
        }
        // a value of the wrong type is an error both ways
        for bad in [r#"{"text":[1]}"#, r#"{"headers":{"X-B":[null]}}"#] {
            let bad: Json = serde_json::from_str(bad).unwrap();
            assert!(bad.read::<crate::MailData>().is_err());
            assert!(serde_json::from_str::<crate::MailData>(&bad.stringify()).is_err());
        }
    }
}
