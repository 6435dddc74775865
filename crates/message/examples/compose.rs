//! Prints the composed message for a JSON message object (for diffing against nodemailer):
//! `cargo run -p mailer-message --example compose -- '{"from":"a@b.c","text":"hi"}'`
fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "{}".into());
    if arg == "--parse" {
        // prints addressparser output for each stdin line
        for line in std::io::stdin().lines().map_while(Result::ok) {
            println!("{}", to_json(&mailer_message::parse_address_list(&line)));
        }
        return;
    }
    let data: mailer_message::MailData = match serde_json::from_str(&arg) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bad input: {e}");
            std::process::exit(2);
        }
    };
    let opts = mailer_message::ComposeOptions {
        keep_bcc: true,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match mailer_message::compile(data, Vec::new(), &opts) {
        Ok(c) => {
            println!("{}", {
                let mut e = serde_json::Map::new();
                e.insert("from".into(), c.envelope.from.clone().into());
                e.insert("to".into(), c.envelope.to.clone().into());
                for (k, v) in &c.envelope.extra {
                    e.insert(k.clone(), v.clone());
                }
                serde_json::json!({"envelope": e, "messageId": c.message_id})
            });
            match rt.block_on(c.body.to_vec()) {
                Ok(b) => print!("{}", String::from_utf8_lossy(&b)),
                Err(e) => println!("ERR stream {e}"),
            }
        }
        Err(e) => println!("ERR {} {}", e.code, e.message),
    }
}

fn to_json(list: &[mailer_message::Mailbox]) -> serde_json::Value {
    list.iter()
        .map(|m| match &m.group {
            Some(g) => serde_json::json!({"name": m.name, "group": to_json(g)}),
            None => serde_json::json!({"address": m.address, "name": m.name}),
        })
        .collect()
}
