//! `createTransport(input)` resolved once: the URL parsed, the well-known service looked up,
//! the layers merged in nodemailer's order and read into a [`TransportConfig`].
//!
//! nodemailer 10.6.1 builds two objects (lib/nodemailer.js, then lib/smtp-transport or
//! lib/smtp-pool):
//!
//! - the Mail's options (`transporter.options` of the object `createTransport` returns):
//!   the input itself; for a URL string, the parsed URL; for an object with a `url`, the
//!   object without `url` with the parsed URL assigned over it (the URL's values win);
//! - the transport's options (`transporter.transporter.options`): those, with the well-known
//!   service entry assigned over them (the service's host, port and secure win over the
//!   user's). The service is named by `service`, which a URL query may set.
//!
//! [`Resolved`] names the layers of each ([`Layer`]) and the plan to build them
//! ([`Layers::plan`]): the binding builds the JS objects from it, so they keep the user's own
//! values (functions, Buffers, sockets), and reads the configuration from the same layers.

use std::rc::Rc;

use serde_json::{Map, Value};

use crate::conn_url::parse_connection_url;
use crate::source::{JsonSource, Layers, Pick, Source, Val, Without};
use crate::transport::TransportConfig;
use crate::well_known::well_known;
use crate::ConfigError;

/// What `createTransport` was given.
pub enum Input<'a> {
    /// `undefined` or `null`: no options.
    None,
    /// A connection URL (`smtp:`, `smtps:`, `direct:`).
    Url(String),
    /// An options object.
    Object(Rc<dyn Source<'a> + 'a>),
}

/// One layer of a merged options object, bottom first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The input object.
    Input,
    /// The input object without its `url` key.
    InputWithoutUrl,
    /// The parsed URL ([`Resolved::url`]).
    Url,
    /// The well-known service entry ([`Resolved::service`]).
    Service,
}

/// How to build one merged options object: its layers, and where each key's value comes from
/// (indices into `layers`).
#[derive(Debug, Clone)]
pub struct Plan {
    pub layers: Vec<Layer>,
    pub picks: Vec<(String, Pick)>,
}

/// The result of [`resolve`].
pub struct Resolved {
    pub url: Option<Rc<Map<String, Value>>>,
    pub service: Option<Rc<Map<String, Value>>>,
    /// How to build the Mail's options; `None`: they are the input object itself.
    pub mail_options: Option<Plan>,
    /// How to build the transport's options.
    pub transport_options: Plan,
    pub config: TransportConfig,
}

/// Resolves `createTransport`'s input. `insecure_env`: `NODE_TLS_REJECT_UNAUTHORIZED` is `'0'`.
pub fn resolve(input: Input<'_>, insecure_env: bool) -> Result<Resolved, ConfigError> {
    let object = match &input {
        Input::Object(o) => Some(o.clone()),
        _ => None,
    };
    let url = match &input {
        Input::Url(s) => Some(Rc::new(parse_connection_url(s)?)),
        Input::Object(o) => match o.get("url").filter(Val::truthy) {
            Some(u) => Some(Rc::new(parse_connection_url(&u.js_string())?)),
            None => None,
        },
        Input::None => None,
    };
    let mail_layers: Option<Vec<Layer>> = match (&input, &url) {
        (Input::Url(_), _) => Some(vec![Layer::Url]),
        (Input::Object(_), Some(_)) => Some(vec![Layer::InputWithoutUrl, Layer::Url]),
        (Input::Object(_), None) => None,
        (Input::None, _) => Some(Vec::new()),
    };
    let base_layers = mail_layers.clone().unwrap_or_else(|| vec![Layer::Input]);

    let layers = |ids: &[Layer], service: Option<&Rc<Map<String, Value>>>| {
        let sources = ids
            .iter()
            .filter_map(|id| -> Option<Rc<dyn Source + '_>> {
                match id {
                    Layer::Input => object.clone(),
                    Layer::InputWithoutUrl => Some(Rc::new(Without {
                        inner: object.clone()?,
                        key: "url",
                    })),
                    Layer::Url => Some(Rc::new(JsonSource(url.clone()?))),
                    Layer::Service => Some(Rc::new(JsonSource(service?.clone()))),
                }
            })
            .collect();
        Layers::new(sources)
    };

    // nodemailer calls `service.toLowerCase()`: anything but a string throws
    let service = match layers(&base_layers, None)
        .get("service")
        .filter(Val::truthy)
    {
        Some(Val::Str(name)) => well_known(&name).map(Rc::new),
        Some(_) => return Err(ConfigError::new("The \"service\" option must be a string")),
        None => None,
    };
    let mut transport_layers = base_layers;
    if service.is_some() {
        transport_layers.push(Layer::Service);
    }
    let merged = layers(&transport_layers, service.as_ref());
    let config = TransportConfig::read(&merged, insecure_env);
    let transport_picks = merged.plan();
    let mail_options = mail_layers.map(|ids| {
        let picks = layers(&ids, None).plan();
        Plan { layers: ids, picks }
    });
    Ok(Resolved {
        url,
        service,
        mail_options,
        transport_options: Plan {
            layers: transport_layers,
            picks: transport_picks,
        },
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Builds a merged object as the binding does, from JSON layers.
    fn build(
        input: &Map<String, Value>,
        r: &Resolved,
        Plan {
            layers: ids,
            picks: plan,
        }: &Plan,
    ) -> Value {
        let without_url: Map<String, Value> = input
            .iter()
            .filter(|(k, _)| *k != "url")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let layer = |i: usize| -> &Map<String, Value> {
            match ids[i] {
                Layer::Input => input,
                Layer::InputWithoutUrl => &without_url,
                Layer::Url => r.url.as_ref().unwrap(),
                Layer::Service => r.service.as_ref().unwrap(),
            }
        };
        let mut out = Map::new();
        for (key, pick) in plan {
            let v = match pick {
                Pick::Layer(i) => layer(*i)[key].clone(),
                Pick::Merged(fields) => Value::Object(
                    fields
                        .iter()
                        .map(|(k, i)| (k.clone(), layer(*i)[key][k].clone()))
                        .collect(),
                ),
            };
            out.insert(key.clone(), v);
        }
        Value::Object(out)
    }

    fn run(input: Value) -> (Option<Value>, Value, TransportConfig) {
        let map = input.as_object().cloned().unwrap_or_default();
        let r = resolve(
            Input::Object(Rc::new(JsonSource(Rc::new(map.clone())))),
            false,
        )
        .unwrap();
        let mail = r.mail_options.as_ref().map(|m| build(&map, &r, m));
        let transport = build(&map, &r, &r.transport_options);
        (mail, transport, r.config)
    }

    #[test]
    fn create_transport_with_url_keeps_other_keys_url_wins() {
        let (mail, _, _) = run(json!({
            "url": "smtp://h:25?service=gmail", "logger": false, "port": 99,
            "auth": {"user": "x", "pass": "y"}, "tls": {"ca": "c"}
        }));
        assert_eq!(
            mail.unwrap(),
            json!({"logger": false, "port": 25, "auth": {"user": "x", "pass": "y"},
                   "tls": {"ca": "c"}, "secure": false, "host": "h", "service": "gmail"})
        );
    }

    #[test]
    fn create_transport_without_url_is_the_input() {
        let (mail, transport, _) = run(json!({"host": "h", "url": ""}));
        assert_eq!(mail, None);
        assert_eq!(transport, json!({"host": "h", "url": ""}));
    }

    #[test]
    fn service_overrides_user_options() {
        let (_, transport, config) = run(json!({
            "service": "gmail", "port": 587, "secure": false, "tls": {"a": 1},
            "auth": {"user": "u", "pass": "p"}
        }));
        assert_eq!(
            transport,
            json!({"service": "gmail", "port": 465, "secure": true, "tls": {"a": 1},
                   "auth": {"user": "u", "pass": "p"}, "description": "Gmail",
                   "host": "smtp.gmail.com"})
        );
        assert_eq!(
            (
                config.connect.host.as_str(),
                config.connect.port,
                config.connect.secure
            ),
            ("smtp.gmail.com", 465, true)
        );
    }

    #[test]
    fn service_from_url_query() {
        // observed on 10.6.1: transporter.transporter.options
        let (_, transport, _) = run(json!({
            "url": "smtp://h:25?service=gmail", "logger": false, "port": 99,
            "auth": {"user": "x", "pass": "y"}, "tls": {"ca": "c"}
        }));
        assert_eq!(
            transport,
            json!({"logger": false, "port": 465, "auth": {"user": "x", "pass": "y"},
                   "tls": {"ca": "c"}, "secure": true, "host": "smtp.gmail.com",
                   "service": "gmail", "description": "Gmail"})
        );
    }

    #[test]
    fn url_credentials_merge_into_auth_and_unknown_service_adds_nothing() {
        let (mail, transport, config) = run(json!({
            "url": "smtps://u:p@mail.example.com", "service": "nope",
            "auth": {"type": "login"}, "host": "ignored"
        }));
        let expected = json!({"service": "nope", "auth": {"type": "login", "user": "u", "pass": "p"},
                              "host": "mail.example.com", "secure": true});
        assert_eq!(mail.unwrap(), expected);
        assert_eq!(transport, expected);
        assert_eq!(config.auth.and_then(|a| a.user).as_deref(), Some("u"));
    }

    #[test]
    fn url_string_and_errors() {
        let r = resolve(Input::Url("smtp://a:b@h:2525".into()), false).unwrap();
        assert_eq!(
            r.mail_options.as_ref().map(|m| m.layers.clone()),
            Some(vec![Layer::Url])
        );
        assert_eq!(
            (r.config.connect.host.as_str(), r.config.connect.port),
            ("h", 2525)
        );
        let bad = json!({"service": true});
        let map = bad.as_object().cloned().unwrap_or_default();
        let err = resolve(Input::Object(Rc::new(JsonSource(Rc::new(map)))), false)
            .err()
            .unwrap();
        assert_eq!(err.message, "The \"service\" option must be a string");
        assert!(resolve(Input::Url("smtp://exa mple.com".into()), false).is_err());
        let r = resolve(Input::None, false).unwrap();
        assert_eq!(r.config.connect.port, 587);
    }
}
