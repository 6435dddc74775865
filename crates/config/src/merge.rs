//! How nodemailer 10.6.1 merges user options, URL options and the well-known entry.

use serde_json::{Map, Value};

use crate::conn_url::{is_truthy, parse_connection_url};
use crate::well_known::well_known;
use crate::ConfigError;

/// nodemailer `shared.assign(target, source)`: copies `source` keys shallowly onto `target`,
/// except that object values of `tls` and `auth` are merged key by key into the existing
/// object. `__proto__` is skipped. (JS arrays are objects there too: their indices become keys.)
pub fn assign(target: &mut Map<String, Value>, source: &Map<String, Value>) {
    for (key, value) in source {
        if key == "__proto__" {
            continue;
        }
        let entries: Option<Vec<(String, Value)>> = match value {
            Value::Object(o) if key == "tls" || key == "auth" => {
                Some(o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            Value::Array(a) if key == "tls" || key == "auth" => Some(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v.clone()))
                    .collect(),
            ),
            _ => None,
        };
        match entries {
            Some(entries) => {
                let mut merged = match target.remove(key) {
                    Some(Value::Object(existing)) => existing,
                    _ => Map::new(),
                };
                for (k, v) in entries {
                    if k != "__proto__" {
                        merged.insert(k, v);
                    }
                }
                target.insert(key.clone(), Value::Object(merged));
            }
            None => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The options `createTransport(obj)` hands to the transport. With a truthy `url`, every
/// other key of `obj` is kept (except `url`) and the parsed URL is assigned over them
/// (observed on 10.6.1: `{url: 'smtp://h:25', port: 99, logger: false}` → `{logger: false,
/// port: 25, secure: false, host: 'h'}`); otherwise the object itself (a copy here; JS
/// keeps the same reference). Pick the transport from the result (`pool` → pool, ...).
pub fn create_transport_options(
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, ConfigError> {
    let Some(url) = input.get("url").filter(|v| is_truthy(v)) else {
        return Ok(input.clone());
    };
    let parsed = parse_connection_url(as_string(url, "url")?)?;
    let mut options: Map<String, Value> = input
        .iter()
        .filter(|(k, _)| k.as_str() != "url" && k.as_str() != "__proto__")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assign(&mut options, &parsed);
    Ok(options)
}

/// The working options of `SMTPTransport`/`SMTPPool`:
/// `assign({}, options, parseConnectionUrl(options.url), wellKnown(options.service ||
/// urlData.service))`. The well-known entry is applied last, so it overrides the user's
/// `host`/`port`/`secure` (observed: `{service:'gmail', port:587, secure:false}` →
/// `smtp.gmail.com:465`, secure). An unknown service adds nothing.
pub fn transport_options(options: &Map<String, Value>) -> Result<Map<String, Value>, ConfigError> {
    let url_data = match options.get("url").filter(|v| is_truthy(v)) {
        Some(url) => Some(parse_connection_url(as_string(url, "url")?)?),
        None => None,
    };
    let service = options.get("service").filter(|v| is_truthy(v)).or_else(|| {
        url_data
            .as_ref()
            .and_then(|d| d.get("service"))
            .filter(|v| is_truthy(v))
    });
    let service_entry = match service {
        Some(s) => well_known(as_string(s, "service")?),
        None => None,
    };

    let mut merged = Map::new();
    assign(&mut merged, options);
    if let Some(url_data) = &url_data {
        assign(&mut merged, url_data);
    }
    if let Some(entry) = &service_entry {
        assign(&mut merged, entry);
    }
    Ok(merged)
}

/// nodemailer calls string methods on these values and throws a TypeError otherwise.
fn as_string<'a>(v: &'a Value, name: &str) -> Result<&'a str, ConfigError> {
    v.as_str()
        .ok_or_else(|| ConfigError::new(format!("Invalid option: {name} must be a string")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn assign_merges_tls_and_auth_only() {
        let mut target = obj(json!({
            "tls": {"a": 1, "b": 1}, "auth": {"user": "u"}, "other": {"x": 1}, "port": 1
        }));
        assign(
            &mut target,
            &obj(json!({
                "tls": {"b": 2}, "auth": {"pass": "p"}, "other": {"y": 2}, "port": 2
            })),
        );
        assert_eq!(
            Value::Object(target),
            json!({"tls": {"a": 1, "b": 2}, "auth": {"user": "u", "pass": "p"},
                   "other": {"y": 2}, "port": 2})
        );
    }

    #[test]
    fn assign_replaces_primitive_tls_and_skips_proto() {
        let mut target = obj(json!({"tls": false}));
        assign(
            &mut target,
            &obj(json!({"tls": {"x": 1, "__proto__": 2}, "__proto__": {"p": 1}})),
        );
        assert_eq!(Value::Object(target), json!({"tls": {"x": 1}}));
        // a non-object tls/auth source is a plain value
        let mut target = obj(json!({"auth": {"user": "u"}}));
        assign(&mut target, &obj(json!({"auth": false})));
        assert_eq!(Value::Object(target), json!({"auth": false}));
    }

    #[test]
    fn create_transport_with_url_keeps_other_keys_url_wins() {
        let input = obj(json!({
            "url": "smtp://h:25?service=gmail", "logger": false, "port": 99,
            "auth": {"user": "x", "pass": "y"}, "tls": {"ca": "c"}
        }));
        assert_eq!(
            Value::Object(create_transport_options(&input).unwrap()),
            json!({"logger": false, "port": 25, "auth": {"user": "x", "pass": "y"},
                   "tls": {"ca": "c"}, "secure": false, "host": "h", "service": "gmail"})
        );
    }

    #[test]
    fn create_transport_without_url_is_the_input() {
        let input = obj(json!({"host": "h", "url": ""}));
        assert_eq!(create_transport_options(&input).unwrap(), input);
        let bad = obj(json!({"url": 5}));
        assert_eq!(
            create_transport_options(&bad).unwrap_err().message,
            "Invalid option: url must be a string"
        );
    }

    #[test]
    fn service_overrides_user_options() {
        let input = obj(json!({
            "service": "gmail", "port": 587, "secure": false, "tls": {"a": 1},
            "auth": {"user": "u", "pass": "p"}
        }));
        assert_eq!(
            Value::Object(transport_options(&input).unwrap()),
            json!({"service": "gmail", "port": 465, "secure": true, "tls": {"a": 1},
                   "auth": {"user": "u", "pass": "p"}, "description": "Gmail",
                   "host": "smtp.gmail.com"})
        );
    }

    #[test]
    fn service_from_url_query() {
        let created = create_transport_options(&obj(json!({
            "url": "smtp://h:25?service=gmail", "logger": false, "port": 99,
            "auth": {"user": "x", "pass": "y"}, "tls": {"ca": "c"}
        })))
        .unwrap();
        // observed on 10.6.1: transporter.transporter.options
        assert_eq!(
            Value::Object(transport_options(&created).unwrap()),
            json!({"logger": false, "port": 465, "auth": {"user": "x", "pass": "y"},
                   "tls": {"ca": "c"}, "secure": true, "host": "smtp.gmail.com",
                   "service": "gmail", "description": "Gmail"})
        );
    }

    #[test]
    fn transport_options_url_then_unknown_service() {
        let input = obj(json!({
            "url": "smtps://u:p@mail.example.com", "service": "nope",
            "auth": {"type": "login"}, "host": "ignored"
        }));
        assert_eq!(
            Value::Object(transport_options(&input).unwrap()),
            json!({"url": "smtps://u:p@mail.example.com", "service": "nope",
                   "auth": {"type": "login", "user": "u", "pass": "p"},
                   "host": "mail.example.com", "secure": true})
        );
        let bad = obj(json!({"service": true}));
        assert_eq!(
            transport_options(&bad).unwrap_err().message,
            "Invalid option: service must be a string"
        );
    }
}
