//! Prints the composed message for a JSON message object (for diffing against nodemailer):
//! `cargo run -p mailer-message --example compose -- '{"from":"a@b.c","text":"hi"}'`
fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "{}".into());
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
            println!(
                "{}",
                serde_json::json!({"envelope": {"from": c.envelope.from, "to": c.envelope.to}, "messageId": c.message_id})
            );
            match rt.block_on(c.body.to_vec()) {
                Ok(b) => print!("{}", String::from_utf8_lossy(&b)),
                Err(e) => println!("ERR stream {e}"),
            }
        }
        Err(e) => println!("ERR {} {}", e.code, e.message),
    }
}
