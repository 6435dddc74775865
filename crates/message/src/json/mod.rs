//! `jsonTransport`: the message data normalised as nodemailer's `MailMessage.normalize` does
//! (content resolved, Buffers as base64, addresses parsed, derived attachment names and types,
//! `headers: {}`, the generated `messageId`), written as `JSON.stringify` writes it.
//!
//! The message is taken once, as a key-ordered tree ([`Json`], value.rs): the composer reads its
//! `MailData` from that tree and works out the envelope and Message-ID (the MIME body is never
//! written); this module then normalises the tree itself, as nodemailer's output echoes every
//! field the user gave, in the user's order.

use crate::address::{normalize_address, parse_address_list, Mailbox};
use crate::content::{decode_text, is_http, Resolver};
use crate::data_images::replace_data_images;
use crate::data_url::{data_url_of, parse_data_url};
use crate::dates::iso_date;
use crate::encoding as enc;
use crate::fetch::UrlRequest;
use crate::input::HttpHeaders;
use crate::mime_types::{default_attachment_filename, detect_mime_type};
use crate::{compose_checked, ComposeError, ComposeOptions, Envelope, MailData};

mod value;

pub use value::Json;

/// The JSON transport's result.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonMessage {
    pub envelope: Envelope,
    pub message_id: String,
    /// `info.message`: the JSON text (`JSON.parse` it for `skipEncoding`)
    pub json: String,
}

/// Content resolved as nodemailer's `resolveContent` resolves it.
async fn resolve(ctx: &Resolver<'_>, v: &Json) -> Result<Json, ComposeError> {
    let content = match v.get("content") {
        Some(c) if v.is_plain_obj() && c.truthy() => c,
        _ => v,
    };
    if !content.truthy() {
        return Ok(content.clone());
    }
    if let Some(i) = content.buffer_index() {
        return match ctx.buffers.get(i) {
            // a copy, but short-lived: the JSON text is built at once from it
            Some(b) => Ok(Json::Bytes(b.to_vec())),
            None => Err(ComposeError::missing_buffer(i)),
        };
    }
    if content.is_plain_obj() {
        let url = content.str_of("path").or(content.str_of("href"));
        let lower = url.map(str::to_ascii_lowercase).unwrap_or_default();
        if lower.starts_with("data:") {
            let data = url
                .and_then(parse_data_url)
                .map(|(b, _)| b)
                .unwrap_or_default();
            return Ok(Json::Bytes(data));
        }
        let href = content
            .str_of("href")
            .or_else(|| content.str_of("path").filter(|p| is_http(p)));
        if let Some(h) = href {
            if ctx.disable_url {
                return Err(ComposeError::url_access_rejected(h));
            }
            let req = UrlRequest {
                url: h.to_string(),
                // read as the composer reads them (nodemailer's lib/fetch sends the same)
                headers: content
                    .get("httpHeaders")
                    .and_then(|h| h.read::<HttpHeaders>().ok())
                    .map(|h| h.0)
                    .unwrap_or_default(),
                ca: match content.get("tls").and_then(|t| t.get("ca")) {
                    Some(Json::Str(s)) => vec![s.clone()],
                    Some(Json::Arr(a)) => a
                        .iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                },
                reject_unauthorized: !matches!(
                    content.get("tls").and_then(|t| t.get("rejectUnauthorized")),
                    Some(Json::Bool(false))
                ),
            };
            return crate::fetch::fetch_body(req)
                .await
                .map(Json::Bytes)
                .map_err(|e| ComposeError::new("EFETCH", e.to_string()));
        }
        if let Some(p) = content.str_of("path") {
            if ctx.disable_file {
                return Err(ComposeError::file_access_rejected(p));
            }
            return tokio::fs::read(p).await.map(Json::Bytes).map_err(|e| {
                ComposeError::new(
                    "EFILEACCESS",
                    crate::body::node_open_error(e, std::path::Path::new(p)).to_string(),
                )
            });
        }
    }
    if let (Some(Json::Str(s)), Some(e)) = (v.get("content"), v.str_of("encoding")) {
        if let Some(bytes) = decode_text(s, e) {
            return Ok(Json::Bytes(bytes));
        }
    }
    Ok(content.clone())
}

/// `resolveAll`'s node: `{content}` plus the other keys of the original object.
fn node_of(orig: &Json, content: Json) -> Json {
    let mut node = vec![("content".to_string(), content)];
    if let Json::Obj(m) = orig {
        if orig.buffer_index().is_none() {
            for (k, v) in m {
                if !["content", "path", "href", "raw"].contains(&k.as_str())
                    && !node.iter().any(|(nk, _)| nk == k)
                {
                    node.push((k.clone(), v.clone()));
                }
            }
        }
    }
    Json::Obj(node)
}

fn mailbox_json(m: &Mailbox) -> Json {
    match &m.group {
        Some(g) => Json::Obj(vec![
            ("name".into(), Json::Str(m.name.clone())),
            (
                "group".into(),
                Json::Arr(g.iter().map(mailbox_json).collect()),
            ),
        ]),
        None => Json::Obj(vec![
            ("address".into(), Json::Str(normalize_address(&m.address))),
            ("name".into(), Json::Str(m.name.clone())),
        ]),
    }
}

/// nodemailer `_parseAddresses`, in its output shape.
fn parse_addresses(v: &Json, out: &mut Vec<Json>) {
    match v {
        Json::Arr(a) => a.iter().for_each(|x| parse_addresses(x, out)),
        Json::Str(s) => out.extend(parse_address_list(s).iter().map(mailbox_json)),
        Json::Obj(_) if v.str_of("address").is_some() => {
            let address = v.str_of("address").unwrap_or_default();
            let normalized = normalize_address(address);
            if normalized == address && matches!(v.get("name"), Some(Json::Str(_))) {
                out.push(v.clone());
            } else {
                let mut copy = v.clone();
                let name = v.str_of("name").unwrap_or_default().to_string();
                copy.set("address", Json::Str(normalized));
                copy.set("name", Json::Str(name));
                out.push(copy);
            }
        }
        // nodemailer stringifies anything else into a display name without an address
        _ => {}
    }
}

/// `_processDataUrl`: a `data:` path/href becomes content.
fn process_data_url(el: &mut Json) {
    let Some((bytes, ct)) = data_url_of(el.str_of("path"), el.str_of("href")) else {
        return;
    };
    el.set("content", Json::Bytes(bytes));
    if !el.get("contentType").is_some_and(Json::truthy) {
        el.set("contentType", Json::Str(ct));
    }
    for k in ["path", "href"] {
        if el.has(k) {
            el.set(k, Json::Bool(false));
        }
    }
}

/// Builds the JSON transport's message. `buffers` are the out-of-band Buffers referenced by
/// `{"$bufferIndex": n}`.
pub async fn normalize_json(
    data: Json,
    buffers: Vec<bytes::Bytes>,
    opts: &ComposeOptions,
) -> Result<JsonMessage, ComposeError> {
    if !data.is_plain_obj() {
        return Err(ComposeError::new(
            "EMESSAGE",
            "The message is not an object",
        ));
    }
    let mail: MailData = data
        .read()
        .map_err(|e| ComposeError::new("EMESSAGE", format!("Invalid message: {e}")))?;
    let ctx = Resolver {
        buffers: &buffers,
        disable_file: opts.disable_file_access || mail.disable_file_access.unwrap_or(false),
        disable_url: opts.disable_url_access || mail.disable_url_access.unwrap_or(false),
    };
    // The composer works out the envelope and the Message-ID (and makes its checks: file and
    // URL access, maxRecipients); the MIME body itself is never written.
    let composed = compose_checked(
        mail,
        &buffers,
        &ComposeOptions {
            keep_bcc: true,
            ..opts.clone()
        },
    )?;
    let mut d = data;
    if !d.get("headers").is_some_and(Json::truthy) {
        d.set("headers", Json::Obj(Vec::new()));
    }

    // compile plugin: attachDataUrls
    if d.get("attachDataUrls").is_some_and(Json::truthy) && d.get("html").is_some_and(Json::truthy)
    {
        let html = d.get("html").cloned().unwrap_or(Json::Null);
        let text = match resolve(&ctx, &html).await? {
            Json::Str(s) => s,
            Json::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        let mut added = Vec::new();
        let replaced = replace_data_images(&text, |img| {
            added.push(Json::Obj(vec![
                ("path".into(), Json::Str(img.uri.to_string())),
                ("cid".into(), Json::Str(img.cid)),
                ("filename".into(), Json::Str(img.filename)),
            ]));
        });
        if !added.is_empty() {
            let mut list = match d.get("attachments") {
                Some(Json::Arr(a)) => a.clone(),
                Some(v) if v.truthy() => vec![v.clone()],
                _ => Vec::new(),
            };
            list.extend(added);
            d.set("attachments", Json::Arr(list));
        }
        d.set("html", Json::Str(replaced));
    }

    // composer: data: URLs of attachments, alternatives and the calendar event become content
    for key in ["attachments", "alternatives"] {
        match d.get_mut(key) {
            Some(Json::Arr(a)) => a.iter_mut().for_each(process_data_url),
            Some(v) if v.is_plain_obj() => process_data_url(v),
            _ => {}
        }
    }
    if let Some(ev) = d.get_mut("icalEvent").filter(|v| v.is_plain_obj()) {
        process_data_url(ev);
    }

    // resolveAll: derived attachment names and types
    if let Some(Json::Arr(list)) = d.get_mut("attachments") {
        for (i, a) in list.iter_mut().enumerate() {
            if !a.is_plain_obj() {
                continue;
            }
            if !a.get("filename").is_some_and(Json::truthy) {
                let src = a
                    .str_of("path")
                    .or(a.str_of("href"))
                    .unwrap_or_default()
                    .to_string();
                let ct = a.str_of("contentType").unwrap_or_default().to_string();
                let f = default_attachment_filename(&src, i, &ct);
                a.set("filename", Json::Str(f));
            }
            if !a.get("contentType").is_some_and(Json::truthy) {
                let src = a
                    .str_of("filename")
                    .or(a.str_of("path"))
                    .or(a.str_of("href"))
                    .unwrap_or("bin")
                    .to_string();
                a.set("contentType", Json::Str(detect_mime_type(&src)));
            }
        }
    }

    // addresses
    for (key, single) in [
        ("from", true),
        ("to", false),
        ("cc", false),
        ("bcc", false),
        ("sender", true),
        ("replyTo", false),
    ] {
        let Some(v) = d.get(key) else { continue };
        let mut list = Vec::new();
        if v.truthy() {
            parse_addresses(v, &mut list);
        }
        let value = if list.is_empty() {
            Json::Null
        } else if single {
            list.swap_remove(0)
        } else {
            Json::Arr(list)
        };
        d.set(key, value);
    }

    // content, in nodemailer's order
    for key in ["html", "text", "watchHtml", "amp", "icalEvent"] {
        let Some(v) = d.get(key).filter(|v| v.truthy()).cloned() else {
            continue;
        };
        let content = resolve(&ctx, &v).await?;
        d.set(key, node_of(&v, content));
    }
    for key in ["alternatives", "attachments"] {
        let Some(Json::Arr(list)) = d.get(key).cloned() else {
            continue;
        };
        let mut out = Vec::with_capacity(list.len());
        for v in list {
            if v.truthy() {
                let content = resolve(&ctx, &v).await?;
                out.push(node_of(&v, content));
            } else {
                out.push(v);
            }
        }
        d.set(key, Json::Arr(out));
    }

    // normalize
    d.remove("envelope");
    d.set("messageId", Json::Str(composed.message_id.clone()));
    for key in ["html", "text", "watchHtml", "amp"] {
        let text = match d.get(key).and_then(|v| v.get("content")) {
            Some(Json::Str(s)) if !s.is_empty() => Some(s.clone()),
            Some(Json::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        if let Some(t) = text {
            d.set(key, Json::Str(t));
        }
    }
    let to_base64 = |v: &mut Json| {
        if let Some(Json::Bytes(b)) = v.get("content") {
            if !b.is_empty() {
                let s = enc::base64_encode(b);
                v.set("content", Json::Str(s));
                v.set("encoding", Json::Str("base64".into()));
            }
        }
    };
    if let Some(ev) = d.get_mut("icalEvent") {
        to_base64(ev);
    }
    for key in ["alternatives", "attachments"] {
        if let Some(Json::Arr(list)) = d.get_mut(key) {
            list.iter_mut().for_each(to_base64);
        }
    }
    if let Some(Json::Num(ms)) = d.get("date") {
        let iso = iso_date(*ms);
        d.set("date", iso.map(Json::Str).unwrap_or(Json::Null));
    }
    let d = buffers_to_bytes(d, &buffers);
    Ok(JsonMessage {
        envelope: composed.envelope,
        message_id: composed.message_id,
        json: d.stringify(),
    })
}

/// Buffers left in the data (e.g. `raw`) are written as `JSON.stringify` writes a Buffer.
fn buffers_to_bytes(v: Json, buffers: &[bytes::Bytes]) -> Json {
    if let Some(i) = v.buffer_index() {
        return Json::Bytes(buffers.get(i).map(|b| b.to_vec()).unwrap_or_default());
    }
    match v {
        Json::Arr(a) => Json::Arr(
            a.into_iter()
                .map(|x| buffers_to_bytes(x, buffers))
                .collect(),
        ),
        Json::Obj(m) => Json::Obj(
            m.into_iter()
                .map(|(k, x)| (k, buffers_to_bytes(x, buffers)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize as _;

    fn run(input: &str, buffers: Vec<Vec<u8>>) -> JsonMessage {
        let data: Json = serde_json::from_str(input).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let buffers = buffers.into_iter().map(bytes::Bytes::from).collect();
        rt.block_on(normalize_json(data, buffers, &ComposeOptions::default()))
            .unwrap()
    }

    fn mask_id(s: &str) -> String {
        match s.find("\"messageId\":\"<") {
            Some(p) => {
                let end = s[p..].find('@').map(|e| p + e).unwrap_or(s.len());
                format!("{}\"messageId\":\"<ID{}", &s[..p], &s[end..])
            }
            None => s.to_string(),
        }
    }

    #[test]
    fn matches_nodemailer_output() {
        // expected strings produced by nodemailer 10.6.1's jsonTransport for the same input
        let out = run(r#"{"to":"x@y.z","text":"x"}"#, vec![]);
        assert_eq!(
            mask_id(&out.json),
            r#"{"to":[{"address":"x@y.z","name":""}],"text":"x","headers":{},"messageId":"<ID@localhost>"}"#
        );
        let out = run(
            r#"{"from":"Näme <a@jõgeva.ee>","cc":[{"name":"C","address":"c@d.e"}],"bcc":"Grp: g1@x.y, g2@x.y;","text":{"$bufferIndex":0},"date":0,"attachments":[{"content":{"$bufferIndex":1}},{"filename":"a.txt","content":"str"},{"path":"data:text/plain;base64,aGk="}],"icalEvent":{"content":"BEGIN"},"envelope":{"from":"e@f.g","to":"h@i.j"}}"#,
            vec![b"buf text".to_vec(), vec![1, 2]],
        );
        assert_eq!(
            mask_id(&out.json),
            r#"{"from":{"address":"a@xn--jgeva-dua.ee","name":"Näme"},"cc":[{"name":"C","address":"c@d.e"}],"bcc":[{"name":"Grp","group":[{"address":"g1@x.y","name":""},{"address":"g2@x.y","name":""}]}],"text":"buf text","date":"1970-01-01T00:00:00.000Z","attachments":[{"content":"AQI=","filename":"attachment-1.bin","contentType":"application/octet-stream","encoding":"base64"},{"content":"str","filename":"a.txt","contentType":"text/plain"},{"content":"aGk=","contentType":"text/plain","filename":"attachment-3.txt","encoding":"base64"}],"icalEvent":{"content":"BEGIN"},"headers":{},"messageId":"<ID@f.g>"}"#
        );
        assert_eq!(out.envelope.from, "e@f.g");
        assert_eq!(out.envelope.to, vec!["h@i.j".to_string()]);
    }

    /// The committed nodemailer outputs (`__test__/fixtures/compose/json-cases.mjs`).
    #[test]
    fn differential_cases_from_nodemailer() {
        use base64::Engine as _;
        let fixtures = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../__test__/fixtures/compose"
        );
        let text = std::fs::read_to_string(format!("{fixtures}/json-cases.json")).unwrap();
        let dir = std::fs::canonicalize(fixtures).unwrap();
        let dir = dir.to_string_lossy();
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(cases.len(), 10);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (i, c) in cases.iter().enumerate() {
            // re-serialised from the raw text: serde_json::Value would have sorted the keys
            let input = serde_json::to_string(&c["input"]).unwrap();
            let raw_input = nth_input(&text, i).replace("@FIXTURES@", &dir);
            let data: Json = serde_json::from_str(&raw_input).unwrap();
            let buffers = c["buffers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.as_str().unwrap())
                        .unwrap()
                        .into()
                })
                .collect();
            let out = rt
                .block_on(normalize_json(data, buffers, &ComposeOptions::default()))
                .unwrap_or_else(|e| panic!("case {i}: {e:?} {input}"));
            let got = out.json.replace(&*dir, "@FIXTURES@");
            let got = mask_cids(&mask_id(&got));
            assert_eq!(got, c["expected"].as_str().unwrap(), "case {i}");
            assert_eq!(
                out.envelope.from,
                c["envelope"]["from"].as_str().unwrap(),
                "case {i}"
            );
            let to: Vec<String> = c["envelope"]["to"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            assert_eq!(out.envelope.to, to, "case {i}");
        }
    }

    fn mask_cids(s: &str) -> String {
        let mut out = s.to_string();
        while let Some(p) = out.find("@localhost") {
            if p < 20 || !out[p - 20..p].chars().all(|c| c.is_ascii_hexdigit()) {
                break;
            }
            out.replace_range(p - 20..p + 10, "CID@LOCALHOST");
        }
        out.replace("CID@LOCALHOST", "CID@localhost")
    }

    /// The `n`th `"input": {...}` object of the fixture text, key order intact.
    fn nth_input(text: &str, n: usize) -> String {
        let mut rest = text;
        for _ in 0..n {
            let p = rest.find("\"input\": ").unwrap();
            rest = &rest[p + 1..];
        }
        let p = rest.find("\"input\": ").unwrap() + "\"input\": ".len();
        let mut de = serde_json::Deserializer::from_str(&rest[p..]);
        let v: Json = Json::deserialize(&mut de).unwrap();
        v.stringify()
    }
}
