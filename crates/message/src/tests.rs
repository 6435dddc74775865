//! End-to-end composition tests (outputs compared with nodemailer 10.6.1, ids/dates masked).

use super::*;

fn data(v: &str) -> MailData {
    serde_json::from_str(v).unwrap()
}

async fn render(d: MailData, buffers: Vec<Vec<u8>>, opts: &ComposeOptions) -> (Compiled, String) {
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
