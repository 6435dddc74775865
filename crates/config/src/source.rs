//! Option values as JavaScript hands them over, and nodemailer's merge of option objects.
//!
//! - [`Val`]: one option value with the JS type it had (a string, a number, a Buffer, a nested
//!   object, a function, ...). Functions and other values only JS can use are kept as markers:
//!   the typed configuration only needs to know they are there.
//! - [`Source`]: an options object read key by key (a JS object through the binding, a
//!   `serde_json` map for the URL and the well-known entry, see [`JsonSource`]). Reading by key
//!   means a user object is never walked as a whole (a logger or a socket in it may be large or
//!   cyclic).
//! - [`Layers`]: nodemailer's `shared.assign(target, ...sources)` as a view: a key's value is
//!   the top-most layer's, except `tls` and `auth`, whose object values merge key by key. It
//!   also gives the plan ([`Layers::plan`]) the binding follows to build the same object in JS
//!   (`transporter.options`, `transporter.transporter.options`), with the user's own values
//!   (functions, Buffers) in it.
//! - JS coercions used when the typed configuration reads a value: truthiness, `String(v)`,
//!   `Number(v)`.

use std::rc::Rc;

use serde_json::{Map, Value};

use crate::conn_url::js_string_to_number;

/// One option value, by its JS type.
#[derive(Clone)]
pub enum Val<'a> {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    /// A Buffer or typed array.
    Bytes(Vec<u8>),
    List(Vec<Val<'a>>),
    Object(Rc<dyn Source<'a> + 'a>),
    Function,
    /// A symbol or a bigint: no option takes one.
    Other,
}

/// An options object, read one key at a time.
pub trait Source<'a> {
    /// Own enumerable string keys, in the object's order.
    fn keys(&self) -> Vec<String>;
    /// The value of an own key; `None` when the object has no such key.
    fn get(&self, key: &str) -> Option<Val<'a>>;
}

impl<'a> Val<'a> {
    /// JS truthiness (`!!v`).
    pub fn truthy(&self) -> bool {
        match self {
            Val::Undefined | Val::Null => false,
            Val::Bool(b) => *b,
            Val::Number(n) => *n != 0.0 && !n.is_nan(),
            Val::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    /// `undefined` or `null`.
    pub fn is_nullish(&self) -> bool {
        matches!(self, Val::Undefined | Val::Null)
    }

    /// `v && typeof v === 'object'` for a plain object (what `assign` merges key by key).
    pub fn as_object(&self) -> Option<&Rc<dyn Source<'a> + 'a>> {
        match self {
            Val::Object(o) => Some(o),
            _ => None,
        }
    }

    /// JS `String(v)`. A Buffer becomes its UTF-8 text (what Node's TLS and nodemailer read
    /// from a PEM Buffer).
    pub fn js_string(&self) -> String {
        match self {
            Val::Undefined => "undefined".into(),
            Val::Null => "null".into(),
            Val::Bool(b) => b.to_string(),
            Val::Number(n) => js_number_string(*n),
            Val::Str(s) => s.clone(),
            Val::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Val::List(items) => items
                .iter()
                .map(|v| {
                    if v.is_nullish() {
                        String::new()
                    } else {
                        v.js_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
            Val::Object(_) => "[object Object]".into(),
            Val::Function => "function".into(),
            Val::Other => String::new(),
        }
    }

    /// JS `Number(v)` (`NaN` where JS gives `NaN`).
    pub fn js_number(&self) -> f64 {
        match self {
            Val::Undefined => f64::NAN,
            Val::Null => 0.0,
            Val::Bool(b) => f64::from(u8::from(*b)),
            Val::Number(n) => *n,
            Val::Str(s) => js_string_to_number(s).unwrap_or(f64::NAN),
            // an object becomes its text first (a Buffer its UTF-8, a list its items joined)
            Val::Bytes(_) | Val::List(_) => Val::Str(self.js_string()).js_number(),
            _ => f64::NAN,
        }
    }
}

/// `String(n)` for the numbers options carry (integers print without a fraction).
fn js_number_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i128)
    } else {
        format!("{n}")
    }
}

/// A `serde_json` object as a [`Source`]: the parsed URL and the well-known entry.
pub struct JsonSource(pub Rc<Map<String, Value>>);

/// A JSON value as a [`Val`].
pub fn json_val<'a>(v: &Value) -> Val<'a> {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Val::Str(s.clone()),
        Value::Array(items) => Val::List(items.iter().map(json_val).collect()),
        Value::Object(o) => Val::Object(Rc::new(JsonSource(Rc::new(o.clone())))),
    }
}

impl<'a> Source<'a> for JsonSource {
    fn keys(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    fn get(&self, key: &str) -> Option<Val<'a>> {
        self.0.get(key).map(json_val)
    }
}

/// A source without one of its keys (`createTransport({ url, ... })` drops `url`).
pub struct Without<'a> {
    pub inner: Rc<dyn Source<'a> + 'a>,
    pub key: &'static str,
}

impl<'a> Source<'a> for Without<'a> {
    fn keys(&self) -> Vec<String> {
        let mut keys = self.inner.keys();
        keys.retain(|k| k != self.key);
        keys
    }

    fn get(&self, key: &str) -> Option<Val<'a>> {
        if key == self.key {
            None
        } else {
            self.inner.get(key)
        }
    }
}

/// The keys whose object values `assign` merges key by key instead of replacing.
fn merges_by_key(key: &str) -> bool {
    key == "tls" || key == "auth"
}

/// Where a merged key's value comes from (indices into the layers, bottom first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The value of this layer, as it is.
    Layer(usize),
    /// A new object with these keys, each from its layer (`tls`, `auth`).
    Merged(Vec<(String, usize)>),
}

/// nodemailer's `shared.assign({}, layers[0], layers[1], ...)`: a key's value is the top-most
/// layer's, except that object values of `tls` and `auth` merge key by key into a new object
/// (a non-object value in between starts it over). `__proto__` is never copied.
pub struct Layers<'a> {
    layers: Vec<Rc<dyn Source<'a> + 'a>>,
}

impl<'a> Layers<'a> {
    pub fn new(layers: Vec<Rc<dyn Source<'a> + 'a>>) -> Self {
        Layers { layers }
    }

    /// For `tls`/`auth`: the object layers that merge into the value (indices, bottom
    /// first), or the layer whose non-object value wins.
    fn merge_stack(&self, key: &str) -> Option<Result<Vec<usize>, usize>> {
        let mut state: Option<Result<Vec<usize>, usize>> = None;
        for (i, layer) in self.layers.iter().enumerate() {
            let Some(v) = layer.get(key) else { continue };
            state = Some(match (v.as_object().is_some(), state) {
                (true, Some(Ok(mut stack))) => {
                    stack.push(i);
                    Ok(stack)
                }
                (true, _) => Ok(vec![i]),
                (false, _) => Err(i),
            });
        }
        state
    }

    /// How to build the merged object: its keys in `assign`'s order, and where each value
    /// comes from.
    pub fn plan(&self) -> Vec<(String, Pick)> {
        self.keys()
            .into_iter()
            .filter_map(|key| {
                let pick = if merges_by_key(&key) {
                    match self.merge_stack(&key)? {
                        Err(i) => Pick::Layer(i),
                        Ok(stack) => {
                            let nested: Vec<(usize, Rc<dyn Source<'a> + 'a>)> = stack
                                .into_iter()
                                .filter_map(|i| match self.layers[i].get(&key) {
                                    Some(Val::Object(o)) => Some((i, o)),
                                    _ => None,
                                })
                                .collect();
                            let mut fields: Vec<(String, usize)> = Vec::new();
                            for (i, o) in &nested {
                                for k in o.keys() {
                                    if k == "__proto__" {
                                        continue;
                                    }
                                    match fields.iter_mut().find(|(f, _)| *f == k) {
                                        Some(field) => field.1 = *i,
                                        None => fields.push((k, *i)),
                                    }
                                }
                            }
                            Pick::Merged(fields)
                        }
                    }
                } else {
                    let i = self.layers.iter().rposition(|l| l.get(&key).is_some())?;
                    Pick::Layer(i)
                };
                Some((key, pick))
            })
            .collect()
    }
}

impl<'a> Source<'a> for Layers<'a> {
    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for layer in &self.layers {
            for k in layer.keys() {
                if k != "__proto__" && !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        keys
    }

    fn get(&self, key: &str) -> Option<Val<'a>> {
        if key == "__proto__" {
            return None;
        }
        if !merges_by_key(key) {
            return self.layers.iter().rev().find_map(|l| l.get(key));
        }
        match self.merge_stack(key)? {
            Err(i) => self.layers[i].get(key),
            Ok(stack) => {
                let nested: Vec<Rc<dyn Source<'a> + 'a>> = stack
                    .into_iter()
                    .filter_map(|i| match self.layers[i].get(key) {
                        Some(Val::Object(o)) => Some(o),
                        _ => None,
                    })
                    .collect();
                Some(Val::Object(Rc::new(Layers::new(nested))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    /// The merged object as JSON, built from the plan (what the binding does in JS).
    fn materialize(layers: &[Map<String, Value>]) -> Value {
        let sources: Vec<Rc<dyn Source>> = layers
            .iter()
            .map(|m| Rc::new(JsonSource(Rc::new(m.clone()))) as Rc<dyn Source>)
            .collect();
        let merged = Layers::new(sources);
        let mut out = Map::new();
        for (key, pick) in merged.plan() {
            let value = match pick {
                Pick::Layer(i) => layers[i][&key].clone(),
                Pick::Merged(fields) => Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, i)| (k.clone(), layers[i][&key][&k].clone()))
                        .collect(),
                ),
            };
            out.insert(key, value);
        }
        Value::Object(out)
    }

    #[test]
    fn assign_merges_tls_and_auth_only() {
        let merged = materialize(&[
            obj(
                json!({"tls": {"a": 1, "b": 1}, "auth": {"user": "u"}, "other": {"x": 1}, "port": 1}),
            ),
            obj(json!({"tls": {"b": 2}, "auth": {"pass": "p"}, "other": {"y": 2}, "port": 2})),
        ]);
        assert_eq!(
            merged,
            json!({"tls": {"a": 1, "b": 2}, "auth": {"user": "u", "pass": "p"},
                   "other": {"y": 2}, "port": 2})
        );
    }

    #[test]
    fn assign_replaces_primitive_tls_and_skips_proto() {
        let merged = materialize(&[
            obj(json!({"tls": false})),
            obj(json!({"tls": {"x": 1, "__proto__": 2}, "__proto__": {"p": 1}})),
        ]);
        assert_eq!(merged, json!({"tls": {"x": 1}}));
        // a non-object tls/auth is a plain value, and starts the merge over
        let merged = materialize(&[
            obj(json!({"auth": {"user": "u"}})),
            obj(json!({"auth": false})),
        ]);
        assert_eq!(merged, json!({"auth": false}));
        let merged = materialize(&[
            obj(json!({"auth": {"user": "u"}})),
            obj(json!({"auth": null})),
            obj(json!({"auth": {"pass": "p"}})),
        ]);
        assert_eq!(merged, json!({"auth": {"pass": "p"}}));
    }

    #[test]
    fn merged_view_reads_like_the_merged_object() {
        let (a, b) = (
            obj(json!({"tls": {"a": 1}, "port": 1, "host": "h"})),
            obj(json!({"tls": {"b": 2}, "port": 2})),
        );
        let merged = Layers::new(vec![
            Rc::new(JsonSource(Rc::new(a))),
            Rc::new(JsonSource(Rc::new(b))),
        ]);
        assert_eq!(merged.keys(), ["host", "port", "tls"]);
        assert!(matches!(merged.get("port"), Some(Val::Number(n)) if n == 2.0));
        let Some(Val::Object(tls)) = merged.get("tls") else {
            panic!("tls is an object")
        };
        assert_eq!(tls.keys(), ["a", "b"]);
        assert!(merged.get("nope").is_none());
    }

    #[test]
    fn js_coercions() {
        assert!(!Val::Str(String::new()).truthy());
        assert!(!Val::Number(f64::NAN).truthy());
        assert!(Val::Function.truthy());
        assert_eq!(Val::Number(465.0).js_string(), "465");
        assert_eq!(Val::Number(1.5).js_string(), "1.5");
        assert_eq!(Val::Bytes(b"PEM".to_vec()).js_string(), "PEM");
        assert_eq!(Val::Str(" 0x10 ".into()).js_number(), 16.0);
        assert_eq!(Val::Str(String::new()).js_number(), 0.0);
        assert!(Val::Str("25px".into()).js_number().is_nan());
        assert_eq!(Val::Bool(true).js_number(), 1.0);
        assert!(Val::Undefined.js_number().is_nan());
        assert_eq!(Val::Bytes(b"2525".to_vec()).js_number(), 2525.0);
        assert_eq!(Val::List(vec![]).js_number(), 0.0);
        assert_eq!(Val::List(vec![Val::Str("25".into())]).js_number(), 25.0);
        assert!(Val::List(vec![Val::Number(1.0), Val::Number(2.0)])
            .js_number()
            .is_nan());
    }
}
