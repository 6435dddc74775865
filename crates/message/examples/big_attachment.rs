//! Streaming bound: composes a message with a big `path` attachment (default 500 MB) and reads
//! the whole body, printing the peak RSS growth (VmHWM) while doing so. A file part is read and
//! encoded in 64 KiB chunks while the stream is polled, so the growth stays far below the file.
//! `cargo run -p mailer-message --example big_attachment -- [size_mb] [text]`
//! (`text` makes it a text/plain part, i.e. the quoted-printable + CRLF path instead of base64)
use std::io::Write;
use std::pin::Pin;

use futures_core::Stream;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mb: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let text = std::env::args().nth(2).as_deref() == Some("text");
    let path = std::env::temp_dir().join(format!("mailer-rs-big-{}.bin", std::process::id()));
    {
        // 1 MiB of varied bytes (lines of text for the QP case), written mb times
        let chunk: Vec<u8> = if text {
            "Lorem ipsum dolor sit amet, jõgeva ünïcödé line\n"
                .repeat((1 << 20) / 40)
                .into_bytes()[..1 << 20]
                .to_vec()
        } else {
            (0..1u32 << 20)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect()
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for _ in 0..mb {
            f.write_all(&chunk)?;
        }
        f.flush()?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let before = vm_hwm_kb();
    let data: mailer_message::MailData = serde_json::from_value(serde_json::json!({
        "from": "a@example.com",
        "to": "b@example.com",
        "text": "see attachment",
        "attachments": [{
            "path": path.to_string_lossy(),
            "contentType": if text { "text/plain" } else { "application/octet-stream" }
        }]
    }))?;
    let compiled = mailer_message::compile(data, Vec::new(), &Default::default())?;
    let mut body = compiled.body;
    let total = rt.block_on(async {
        let mut total = 0u64;
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
            total += chunk?.len() as u64;
        }
        Ok::<_, std::io::Error>(total)
    })?;
    let after = vm_hwm_kb();
    std::fs::remove_file(&path)?;
    println!(
        "attachment {mb} MiB ({}), message {} bytes, peak RSS before {} KiB, after {} KiB, growth {} KiB",
        if text { "text/plain, QP" } else { "base64" },
        total,
        before,
        after,
        after.saturating_sub(before)
    );
    if after.saturating_sub(before) > 32 * 1024 {
        eprintln!("peak RSS grew by more than 32 MiB");
        std::process::exit(1);
    }
    Ok(())
}
