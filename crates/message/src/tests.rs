//! End-to-end composition tests (outputs compared with nodemailer 10.6.1, ids/dates masked).

use super::*;

fn data(v: &str) -> MailData {
    serde_json::from_str(v).unwrap()
}

async fn render(d: MailData, buffers: Vec<Vec<u8>>, opts: &ComposeOptions) -> (Compiled, String) {
    let buffers = buffers.into_iter().map(Bytes::from).collect();
    let c = compile(d, buffers, opts).unwrap();
    let Compiled {
        envelope,
        message_id,
        body,
    } = c;
    let hint = body.size_hint();
    let bytes = body.to_vec().await.unwrap();
    if let Some(h) = hint {
        assert_eq!(h, bytes.len() as u64);
    }
    let text = String::from_utf8(bytes).unwrap();
    (
        Compiled {
            envelope,
            message_id,
            body: MessageBody::new(Vec::new()),
        },
        text,
    )
}

/// Replaces the random/time dependent values.
fn mask(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with("Message-ID: <") && l.len() > 50 {
                let domain = l.rsplit('@').next().unwrap_or("");
                format!("Message-ID: <ID@{domain}")
            } else if l.starts_with("Date: ") {
                "Date: DATE".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn text_only_message() {
    let d = data(
        r#"{"from":"Sender Näme <sender@example.com>","to":"a@example.com, Bad <bad@example.com>","cc":"\"C, Person\" <c@example.com>","bcc":"hidden@example.com","subject":"Hellö wörld subject","text":"hello world"}"#,
    );
    let (c, out) = render(d, vec![], &ComposeOptions::default()).await;
    assert_eq!(
        mask(&out),
        "From: =?UTF-8?Q?Sender_N=C3=A4me?= <sender@example.com>\n\
         To: a@example.com, Bad <bad@example.com>\n\
         Cc: \"C, Person\" <c@example.com>\n\
         Subject: =?UTF-8?Q?Hell=C3=B6_w=C3=B6rld_subject?=\n\
         Message-ID: <ID@example.com>\n\
         Content-Transfer-Encoding: 7bit\n\
         Date: DATE\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         hello world"
    );
    assert!(out.contains("\r\n\r\nhello world\r\n"));
    assert!(!out.replace("\r\n", "").contains('\n'));
    assert_eq!(c.envelope.from, "sender@example.com");
    assert_eq!(
        c.envelope.to,
        vec![
            "a@example.com",
            "bad@example.com",
            "c@example.com",
            "hidden@example.com"
        ]
    );
    let id = &c.message_id;
    assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
    let parts: Vec<&str> = id[1..id.find('@').unwrap()].split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
}

#[tokio::test]
async fn keep_bcc_and_header_injection() {
    let d = data(
        r#"{"from":"a@b.c","bcc":"x@y.z","subject":"hi\r\nBcc: evil@x.com","headers":{"X-Test\r\nInjected: 1":"v\r\nTo: evil@x.com","X-Prep":{"prepared":true,"value":"p\r\nCc: evil@x.com"}},"text":"t"}"#,
    );
    let opts = ComposeOptions {
        keep_bcc: true,
        ..Default::default()
    };
    let (_, out) = render(d, vec![], &opts).await;
    let heads: Vec<&str> = out
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .split("\r\n")
        .collect();
    assert!(heads.contains(&"Bcc: x@y.z"));
    assert!(heads.contains(&"Subject: hi Bcc: evil@x.com"));
    assert!(
        heads.contains(&"X-Testinjected1: v To: evil@x.com"),
        "{heads:?}"
    );
    assert!(heads.contains(&"X-Prep: p Cc: evil@x.com"), "{heads:?}");
    assert!(!heads
        .iter()
        .any(|h| h.starts_with("To:") || h.starts_with("Cc:")));
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("mailer-message-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[tokio::test]
async fn path_attachment_streams_in_bounded_chunks_and_matches_buffer() {
    let bytes: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let p = temp_file("big.bin", &bytes);
    let json = format!(
        r#"{{"from":"a@b.c","to":"x@y.z","baseBoundary":"b","messageId":"m@x","date":0,"text":"x","attachments":[{{"path":{}}}]}}"#,
        serde_json::Value::String(p.display().to_string())
    );
    let c = compile(data(&json), vec![], &ComposeOptions::default()).unwrap();
    assert_eq!(c.body.size_hint(), None);
    let mut body = c.body;
    let mut streamed = Vec::new();
    while let Some(chunk) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_next(cx)).await
    {
        let chunk = chunk.unwrap();
        // a file is read 64 KiB at a time: its base64 is ~90 KB per chunk
        assert!(chunk.len() < 100_000, "{}", chunk.len());
        streamed.extend_from_slice(&chunk);
    }
    let json = r#"{"from":"a@b.c","to":"x@y.z","baseBoundary":"b","messageId":"m@x","date":0,"text":"x","attachments":[{"content":{"$bufferIndex":0},"filename":"FILENAME"}]}"#
        .replace("FILENAME", &p.file_name().unwrap().to_string_lossy());
    let (_, in_memory) = render(data(&json), vec![bytes], &ComposeOptions::default()).await;
    assert_eq!(String::from_utf8(streamed).unwrap(), in_memory);
    std::fs::remove_file(p).unwrap();
}

use futures_core::Stream as _;

#[tokio::test]
async fn disabled_file_access_and_missing_files() {
    let d =
        data(r#"{"from":"a@b.c","to":"x@y.z","text":"x","attachments":[{"path":"/etc/passwd"}]}"#);
    let opts = ComposeOptions {
        disable_file_access: true,
        ..Default::default()
    };
    let e = compile(d, vec![], &opts).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        ("EFILEACCESS", "File access rejected for /etc/passwd")
    );
    let d = data(
        r#"{"from":"a@b.c","to":"x@y.z","text":"x","attachments":[{"href":"https://user:secret@example.com/x"}]}"#,
    );
    let opts = ComposeOptions {
        disable_url_access: true,
        ..Default::default()
    };
    let e = compile(d, vec![], &opts).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            "EURLACCESS",
            "Url access rejected for https://example.com/x"
        )
    );
    let d = data(
        r#"{"from":"a@b.c","to":"x@y.z","text":"x","attachments":[{"path":"/nonexistent/file.bin"}]}"#,
    );
    let c = compile(d, vec![], &ComposeOptions::default()).unwrap();
    let e = c.body.to_vec().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "ENOENT: no such file or directory, open '/nonexistent/file.bin'"
    );
}

#[tokio::test]
async fn multipart_mixed_with_related_html() {
    let d = data(
        r#"{"from":"a@b.c","to":"x@y.z","baseBoundary":"0123456789abcdef","messageId":"id@x","date":0,"text":"t","html":"<img src=\"cid:logo\">","attachments":[{"filename":"logo.png","content":"iVBORw0KGgo=","encoding":"base64","cid":"logo"},{"filename":"doc.txt","content":"x"}]}"#,
    );
    let (c, out) = render(d, vec![], &ComposeOptions::default()).await;
    assert_eq!(c.message_id, "id@x");
    // checked against nodemailer 10.6.1 with the same baseBoundary
    let expected = "From: a@b.c\r\nTo: x@y.z\r\nMessage-ID: <id@x>\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"--_NmP-0123456789abcdef-Part_1\"\r\n\r\n\
----_NmP-0123456789abcdef-Part_1\r\nContent-Type: multipart/alternative;\r\n boundary=\"--_NmP-0123456789abcdef-Part_2\"\r\n\r\n\
----_NmP-0123456789abcdef-Part_2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nt\r\n\
----_NmP-0123456789abcdef-Part_2\r\nContent-Type: multipart/related; type=\"text/html\";\r\n boundary=\"--_NmP-0123456789abcdef-Part_4\"\r\n\r\n\
----_NmP-0123456789abcdef-Part_4\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<img src=\"cid:logo\">\r\n\
----_NmP-0123456789abcdef-Part_4\r\nContent-Type: image/png; name=logo.png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; filename=logo.png\r\n\r\niVBORw0KGgo=\r\n\
----_NmP-0123456789abcdef-Part_4--\r\n\r\n\
----_NmP-0123456789abcdef-Part_2--\r\n\r\n\
----_NmP-0123456789abcdef-Part_1\r\nContent-Type: text/plain; name=doc.txt\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=doc.txt\r\n\r\neA==\r\n\
----_NmP-0123456789abcdef-Part_1--\r\n";
    assert_eq!(out, expected);
}

#[tokio::test]
async fn envelope_override_priority_and_raw() {
    let d = data(
        r#"{"from":"a@b.c","to":"x@y.z","priority":"high","text":"x","envelope":{"from":"bounce@q.r","to":["r1@x.com","R1@X.com","root"],"size":100}}"#,
    );
    let (c, out) = render(d, vec![], &ComposeOptions::default()).await;
    assert_eq!(c.envelope.from, "bounce@q.r");
    assert_eq!(c.envelope.to, vec!["r1@x.com", "R1@x.com", "root"]);
    assert_eq!(c.envelope.extra.get("size"), Some(&serde_json::json!(100)));
    assert!(c.message_id.ends_with("@q.r>"));
    assert!(out.contains(
        "\r\nX-Priority: 1 (Highest)\r\nX-Msmail-Priority: High\r\nImportance: High\r\n"
    ));

    let d = data(r#"{"replyTo":"r@b.c","to":"x@y.z","raw":"Subject: raw\r\n\r\nbody"}"#);
    let (c, out) = render(
        d,
        vec![],
        &ComposeOptions {
            hostname: Some("h.example".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(out, "Subject: raw\r\n\r\nbody\r\n");
    assert_eq!(c.envelope.from, "r@b.c");
    assert!(c.message_id.ends_with("@b.c>"));
}

#[tokio::test]
async fn attach_data_urls_become_cid_attachments() {
    let d = data(
        r#"{"from":"a@b.c","to":"x@y.z","attachDataUrls":true,"html":"<p><img alt=x src=\"data:image/png;base64,iVBORw0KGgo=\"> <IMG src='data:image/gif;base64,R0lGOD=='></p>"}"#,
    );
    let (_, out) = render(d, vec![], &ComposeOptions::default()).await;
    let cids: Vec<&str> = out
        .split("cid:")
        .skip(1)
        .map(|s| &s[..s.find('@').unwrap()])
        .collect();
    assert_eq!(cids.len(), 2, "{out}");
    assert!(cids
        .iter()
        .all(|c| c.len() == 20 && c.chars().all(|h| h.is_ascii_hexdigit())));
    assert!(out.contains("Content-Type: multipart/related; type=\"text/html\""));
    assert!(out.contains(&format!("Content-ID: <{}@localhost>", cids[0])));
    assert!(out.contains("Content-Type: image/png; name=image-1.png\r\n"));
    assert!(out.contains("Content-Disposition: inline; filename=image-1.png\r\n"));
    assert!(out.contains("Content-Type: image/gif; name=image-2.gif\r\n"));
    assert!(out.contains("\r\n\r\niVBORw0KGgo=\r\n"));
    // without the flag the html is left alone
    let d = data(
        r#"{"from":"a@b.c","to":"x@y.z","html":"<img src=\"data:image/png;base64,iVBORw0KGgo=\">"}"#,
    );
    let (_, out) = render(d, vec![], &ComposeOptions::default()).await;
    assert!(
        out.contains("<img src=3D\"data:image/png;base64,iVBORw0KGgo=3D\">")
            || out.contains("<img src=\"data:image/png;base64,iVBORw0KGgo=\">"),
        "{out}"
    );
}

#[tokio::test]
async fn no_header_line_over_998_octets() {
    let token = "a".repeat(1200);
    let d = data(&format!(
        r#"{{"from":"a@example.com","to":"b@example.com","subject":"x {token} y","headers":{{"X-Long":"{token}","X-Short":"keep as is"}},"text":"t"}}"#
    ));
    let (_, out) = render(d, vec![], &ComposeOptions::default()).await;
    let head = out.split("\r\n\r\n").next().unwrap_or_default();
    for line in head.split("\r\n") {
        assert!(line.len() <= 998, "{} octets: {}", line.len(), &line[..40]);
    }
    assert!(head.contains("Subject: =?UTF-8?Q?x_aaa"), "{head}");
    assert!(head.contains("X-Long: =?UTF-8?Q?aaa"), "{head}");
    assert!(head.contains("X-Short: keep as is"), "{head}");
}

#[test]
fn max_recipients_counts_the_deduplicated_envelope() {
    let opts = ComposeOptions::default();
    // three distinct recipients (b@x twice): the limit of 3 holds, 2 does not
    let msg = |limit: &str| {
        data(&format!(
            r#"{{"from": "a@x.com", "to": "b@x.com, c@x.com", "cc": "b@x.com", "bcc": "d@x.com"{limit}, "text": "x"}}"#
        ))
    };
    assert!(compile(msg(r#", "maxRecipients": 3"#), Vec::new(), &opts).is_ok());
    let e = compile(msg(r#", "maxRecipients": 2"#), Vec::new(), &opts).unwrap_err();
    assert_eq!(e.code, "EMAXRECIPIENTS");
    assert_eq!(
        e.message,
        "Message has 3 recipients, which is over the 2 allowed by maxRecipients"
    );
    // the default is 100,000
    let to: Vec<String> = (0..100_001).map(|i| format!("u{i}@x.com")).collect();
    let big = MailData {
        to: Some(AddressInput::List(
            to.into_iter().map(AddressInput::Text).collect(),
        )),
        ..Default::default()
    };
    let e = compile(big.clone(), Vec::new(), &opts).unwrap_err();
    assert_eq!(
        e.message,
        "Message has 100001 recipients, which is over the 100000 allowed by maxRecipients"
    );
    let off = MailData {
        max_recipients: Some(serde_json::json!(0)),
        ..big
    };
    assert_eq!(
        compile(off, Vec::new(), &opts).unwrap().envelope.to.len(),
        100_001
    );
}
