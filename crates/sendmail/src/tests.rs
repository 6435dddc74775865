use super::*;
use std::os::unix::fs::PermissionsExt;

/// A shell script in a temporary directory, executable.
///
/// The executable is written by a `cp` child, never through a file descriptor of this
/// process: tests run on parallel threads, and a child forked by another test while this
/// process held the file open for writing would keep that descriptor until its exec, making
/// the spawn of the script fail with ETXTBSY.
fn script(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let source = dir.path().join(format!("{name}.src"));
    std::fs::write(&source, format!("#!/bin/sh\n{body}\n")).unwrap();
    let path = dir.path().join(name);
    let copied = std::process::Command::new("cp")
        .arg(&source)
        .arg(&path)
        .status()
        .unwrap();
    assert!(copied.success(), "cp {source:?} {path:?}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn chunks(parts: Vec<io::Result<&'static [u8]>>) -> impl Stream<Item = io::Result<Bytes>> + Unpin {
    futures_util::stream::iter(parts.into_iter().map(|p| p.map(Bytes::from_static)))
}

fn to(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn arguments_follow_nodemailer() {
    let s = Sendmail::default();
    assert_eq!(
        s.arguments("a@x", &to(&["b@y", "c@z"])),
        ["-i", "-f", "a@x", "b@y", "c@z"]
    );
    assert_eq!(s.arguments("", &to(&["b@y"])), ["-i", "b@y"]);
    let custom = Sendmail {
        args: Some(to(&["-t", "-oi"])),
        ..Default::default()
    };
    // custom args replace `-f <from>`; the recipients are still added
    assert_eq!(
        custom.arguments("a@x", &to(&["b@y"])),
        ["-i", "-t", "-oi", "b@y"]
    );
}

#[test]
fn option_like_addresses() {
    assert!(is_option_like("-oQ/tmp/x@y"));
    assert!(is_option_like("\"-x\"@y"));
    assert!(!is_option_like("a-b@y"));
    assert!(!is_option_like("\"a -b\"@y"));
}

#[tokio::test]
async fn refuses_option_like_addresses_before_spawning() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let path = script(&dir, "sm", &format!("touch '{}'", marker.display()));
    let s = Sendmail {
        path,
        ..Default::default()
    };
    for (from, rcpt) in [("-f@x", "b@y"), ("a@x", "\"-oQ\"@y")] {
        let e = s
            .send(from, &to(&[rcpt]), chunks(vec![Ok(b"x")]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "ESENDMAIL");
        assert_eq!(
            e.to_string(),
            "Can not send mail. Invalid envelope addresses."
        );
    }
    assert!(!marker.exists());
}

#[tokio::test]
async fn streams_the_message_into_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let argv = dir.path().join("argv");
    let path = script(
        &dir,
        "sm",
        &format!(
            "printf '%s\\n' \"$@\" > '{}'; cat > '{}'",
            argv.display(),
            out.display()
        ),
    );
    let s = Sendmail {
        path,
        ..Default::default()
    };
    s.send(
        "a@x",
        &to(&["b@y"]),
        chunks(vec![Ok(b"Subject: t\r\n"), Ok(b"\r\nhello\r\n")]),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"Subject: t\r\n\r\nhello\r\n");
    assert_eq!(
        std::fs::read_to_string(&argv).unwrap(),
        "-i\n-f\na@x\nb@y\n"
    );
}

#[tokio::test]
async fn missing_binary_is_nodes_spawn_error() {
    let s = Sendmail {
        path: "/nonexistent/sendmail".into(),
        ..Default::default()
    };
    let e = s
        .send("a@x", &to(&["b@y"]), chunks(vec![Ok(b"x")]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "ENOENT");
    assert_eq!(e.to_string(), "spawn /nonexistent/sendmail ENOENT");
    assert_eq!(e.errno(), Some(-libc::ENOENT));
    assert_eq!(e.syscall().as_deref(), Some("spawn /nonexistent/sendmail"));
}

#[tokio::test]
async fn exit_codes_and_signals() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("cat >/dev/null; exit 75", "Sendmail exited with code 75"),
        (
            "cat >/dev/null; exit 127",
            "Sendmail command not found, process exited with code 127",
        ),
        (
            "cat >/dev/null; kill -TERM $$",
            "Sendmail was terminated by SIGTERM",
        ),
    ];
    for (i, (body, message)) in cases.into_iter().enumerate() {
        let s = Sendmail {
            path: script(&dir, &format!("sm{i}"), body),
            ..Default::default()
        };
        let e = s
            .send("a@x", &to(&["b@y"]), chunks(vec![Ok(b"x\r\n")]))
            .await
            .unwrap_err();
        assert_eq!((e.code(), e.to_string().as_str()), ("ESENDMAIL", message));
    }
}

#[tokio::test]
async fn exit_zero_before_reading_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let s = Sendmail {
        path: script(&dir, "sm", "exec 0<&-; exit 0"),
        ..Default::default()
    };
    // more than a pipe holds, so the write fails
    let big: &'static [u8] = Box::leak(vec![b'x'; 4 << 20].into_boxed_slice());
    let e = s
        .send("a@x", &to(&["b@y"]), chunks(vec![Ok(big)]))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Sendmail exited before the message was written"
    );
}

#[tokio::test]
async fn a_failing_body_interrupts_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(&dir, "sm", "cat >/dev/null; sleep 5");
    let s = Sendmail {
        path,
        ..Default::default()
    };
    let e = s
        .send(
            "a@x",
            &to(&["b@y"]),
            chunks(vec![Ok(b"x"), Err(io::Error::other("attachment gone"))]),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendmailError::Body(_)));
    assert_eq!(e.to_string(), "attachment gone");
}
