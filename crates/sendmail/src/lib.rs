//! nodemailer's sendmail transport (lib/sendmail-transport/index.js): the composed message is
//! streamed into the standard input of a sendmail-compatible binary, chunk by chunk (a message
//! of any size in constant memory), with nodemailer's arguments, its refusal of addresses that
//! would read as options, and its errors for a binary that is missing, fails or dies.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// How long a failed write to stdin waits for the process to exit: the exit code says more
/// than the EPIPE (nodemailer's STDIN_ERROR_EXIT_WAIT).
const STDIN_ERROR_EXIT_WAIT: Duration = Duration::from_millis(1000);

/// The transport's settings.
#[derive(Debug, Clone)]
pub struct Sendmail {
    /// the binary, looked up in PATH when it has no slash (`sendmail` by default)
    pub path: String,
    /// `args`: replace `-f <from>`; `-i` before and the recipients after are always added
    pub args: Option<Vec<String>>,
}

impl Default for Sendmail {
    fn default() -> Self {
        Sendmail {
            path: "sendmail".to_string(),
            args: None,
        }
    }
}

/// Why a message was not handed over, each with the error nodemailer reports for it.
#[derive(Debug)]
pub enum SendmailError {
    /// an envelope address starts with `-` (or `"-`): it would be read as an option
    InvalidAddresses,
    /// the process could not be started (node's spawn error: `spawn <path> ENOENT`)
    Spawn {
        error: io::Error,
        path: String,
        args: Vec<String>,
    },
    /// non-zero exit code
    Exit(i32),
    /// killed by a signal (its name, e.g. `SIGTERM`)
    Signal(String),
    /// exited with 0 before the whole message was written
    ExitedEarly,
    /// writing to stdin failed and the process did not exit within a second (node's
    /// `write EPIPE`)
    Stdin(io::Error),
    /// the message itself failed while it streamed (a file or URL attachment): the process was
    /// sent SIGINT so that nothing is delivered
    Body(io::Error),
}

impl SendmailError {
    /// nodemailer's `code`: ESENDMAIL, or the system error's name for spawn and stdin errors.
    /// Body errors carry their own code (the binding reads it from the io::Error).
    pub fn code(&self) -> &'static str {
        match self {
            SendmailError::Spawn { error, .. } | SendmailError::Stdin(error) => {
                errno_name(error).unwrap_or("ESENDMAIL")
            }
            _ => "ESENDMAIL",
        }
    }

    /// node's negative errno (`-2` for ENOENT) of a spawn or stdin error.
    pub fn errno(&self) -> Option<i32> {
        match self {
            SendmailError::Spawn { error, .. } | SendmailError::Stdin(error) => {
                error.raw_os_error().map(|n| -n)
            }
            _ => None,
        }
    }

    /// node's `syscall` of a spawn (`spawn <path>`) or stdin (`write`) error.
    pub fn syscall(&self) -> Option<String> {
        match self {
            SendmailError::Spawn { path, .. } => Some(format!("spawn {path}")),
            SendmailError::Stdin(_) => Some("write".to_string()),
            _ => None,
        }
    }
}

impl std::fmt::Display for SendmailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendmailError::InvalidAddresses => {
                f.write_str("Can not send mail. Invalid envelope addresses.")
            }
            SendmailError::Spawn { error, path, .. } => match errno_name(error) {
                Some(name) => write!(f, "spawn {path} {name}"),
                None => write!(f, "spawn {path} {error}"),
            },
            SendmailError::Exit(127) => {
                f.write_str("Sendmail command not found, process exited with code 127")
            }
            SendmailError::Exit(code) => write!(f, "Sendmail exited with code {code}"),
            SendmailError::Signal(name) => write!(f, "Sendmail was terminated by {name}"),
            SendmailError::ExitedEarly => {
                f.write_str("Sendmail exited before the message was written")
            }
            SendmailError::Stdin(error) => match errno_name(error) {
                Some(name) => write!(f, "write {name}"),
                None => write!(f, "write {error}"),
            },
            SendmailError::Body(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for SendmailError {}

/// The name node gives an errno (the ones spawn and a pipe write can meet).
fn errno_name(e: &io::Error) -> Option<&'static str> {
    let n = e.raw_os_error()?;
    let names: &[(i32, &str)] = &[
        (libc::ENOENT, "ENOENT"),
        (libc::EACCES, "EACCES"),
        (libc::EPERM, "EPERM"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::ENOEXEC, "ENOEXEC"),
        (libc::E2BIG, "E2BIG"),
        (libc::ELOOP, "ELOOP"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ETXTBSY, "ETXTBSY"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENFILE, "ENFILE"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::EINVAL, "EINVAL"),
        (libc::EPIPE, "EPIPE"),
        (libc::ECONNRESET, "ECONNRESET"),
        (libc::EIO, "EIO"),
    ];
    names.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
}

fn signal_name(n: i32) -> String {
    let names: &[(i32, &str)] = &[
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGTRAP, "SIGTRAP"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGXCPU, "SIGXCPU"),
        (libc::SIGXFSZ, "SIGXFSZ"),
        (libc::SIGSYS, "SIGSYS"),
    ];
    names
        .iter()
        .find(|(k, _)| *k == n)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| format!("SIG{n}"))
}

/// Whether an envelope address would be read as an option: a local part is a dot-atom or a
/// quoted string, so a leading dash sits first or right behind the opening quote.
pub fn is_option_like(address: &str) -> bool {
    address.starts_with('-') || address.starts_with("\"-")
}

impl Sendmail {
    /// nodemailer's argument list: `-i` (a line with a single dot does not end the message),
    /// then `-f <from>` (when there is a sender) or the custom `args`, then the recipients.
    pub fn arguments(&self, from: &str, to: &[String]) -> Vec<String> {
        let mut args = vec!["-i".to_string()];
        match &self.args {
            Some(custom) => args.extend(custom.iter().cloned()),
            None if !from.is_empty() => {
                args.push("-f".to_string());
                args.push(from.to_string());
            }
            None => {}
        }
        args.extend(to.iter().cloned());
        args
    }

    /// Runs the binary for one message and streams `body` into its stdin. Resolves when the
    /// process exited with 0 after reading the whole message.
    pub async fn send<S>(&self, from: &str, to: &[String], mut body: S) -> Result<(), SendmailError>
    where
        S: Stream<Item = io::Result<Bytes>> + Unpin,
    {
        if (!from.is_empty() && is_option_like(from)) || to.iter().any(|a| is_option_like(a)) {
            return Err(SendmailError::InvalidAddresses);
        }
        let args = self.arguments(from, to);
        let mut child = Command::new(&self.path)
            .args(&args)
            .stdin(Stdio::piped())
            // nodemailer never reads them; a binary that writes a lot must not block on a
            // full pipe
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| SendmailError::Spawn {
                error,
                path: self.path.clone(),
                args: args.clone(),
            })?;
        let Some(mut stdin) = child.stdin.take() else {
            reap(child);
            return Err(SendmailError::Stdin(io::Error::from(
                io::ErrorKind::BrokenPipe,
            )));
        };
        let mut written = false;
        let mut stdin_error = None;
        loop {
            match body.next().await {
                None => {
                    written = true;
                    break;
                }
                Some(Err(e)) => {
                    drop(stdin);
                    interrupt(&child);
                    reap(child);
                    return Err(SendmailError::Body(e));
                }
                Some(Ok(chunk)) => {
                    if let Err(e) = stdin.write_all(&chunk).await {
                        stdin_error = Some(e);
                        break;
                    }
                }
            }
        }
        if stdin_error.is_none() {
            if let Err(e) = stdin.shutdown().await {
                stdin_error = Some(e);
            }
        }
        // end of input for the binary
        drop(stdin);
        drop(body);
        let status = match stdin_error {
            None => child.wait().await.map_err(SendmailError::Stdin)?,
            Some(e) => match tokio::time::timeout(STDIN_ERROR_EXIT_WAIT, child.wait()).await {
                Ok(Ok(status)) => {
                    return Err(outcome(status, false)
                        .err()
                        .unwrap_or(SendmailError::Stdin(e)))
                }
                Ok(Err(_)) => return Err(SendmailError::Stdin(e)),
                Err(_) => {
                    reap(child);
                    return Err(SendmailError::Stdin(e));
                }
            },
        };
        outcome(status, written)
    }
}

/// nodemailer's reading of the exit: the code, else the signal, else whether the message was
/// written.
fn outcome(status: ExitStatus, written: bool) -> Result<(), SendmailError> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) if written => Ok(()),
        (Some(0), _) => Err(SendmailError::ExitedEarly),
        (Some(code), _) => Err(SendmailError::Exit(code)),
        (None, Some(sig)) => Err(SendmailError::Signal(signal_name(sig))),
        (None, None) => Err(SendmailError::ExitedEarly),
    }
}

/// nodemailer sends SIGINT to a sendmail whose message failed: it must not deliver a part.
fn interrupt(child: &Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a pid this process spawned and has not reaped yet (`child` is
        // alive), so the pid cannot have been reused
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

/// Waits for a process in the background, so that none is left a zombie.
fn reap(mut child: Child) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let _ = child.wait().await;
        });
    }
}

#[cfg(test)]
mod tests;
