//! nodemailer's `SMTPTransport`: one connection per message, and `verify()` (§4.2, §6).

use bytes::Bytes;
use futures_core::Stream;

use crate::auth::AuthOptions;
use crate::connection::{SendInfo, SmtpConnection};
use crate::envelope::Envelope;
use crate::error::{ErrorCode, SmtpError};
use crate::options::ConnectOptions;

/// Connect, log in when there are credentials and (the server allows AUTH, HELO was used,
/// or `force_auth`), send, then close **without** QUIT. Returns the info and `info.ehlo`
/// (empty when EHLO was not used; see [`SmtpConnection::used_ehlo`]).
pub async fn send_once<S>(
    opts: &ConnectOptions,
    auth: &AuthOptions,
    env: &Envelope,
    body: S,
) -> Result<(SendInfo, Vec<String>), SmtpError>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
{
    let mut conn = SmtpConnection::connect(opts).await?;
    if auth.credentials.is_some() && (conn.allows_auth() || auth.force_auth) {
        if let Err(e) = conn.login(auth).await {
            conn.close().await;
            return Err(e);
        }
    }
    let res = conn.send(env, body).await;
    let ehlo = conn.ehlo().to_vec();
    conn.close().await;
    res.map(|info| (info, ehlo))
}

/// Connect, log in if applicable, QUIT. With `force_auth`, no credentials and a server
/// that advertises AUTH: ENOAUTH "Authentication info was not provided".
pub async fn verify(opts: &ConnectOptions, auth: &AuthOptions) -> Result<(), SmtpError> {
    let mut conn = SmtpConnection::connect(opts).await?;
    if auth.credentials.is_some() && (conn.allows_auth() || auth.force_auth) {
        if let Err(e) = conn.login(auth).await {
            conn.close().await;
            return Err(e);
        }
    } else if auth.credentials.is_none() && conn.allows_auth() && auth.force_auth {
        conn.close().await;
        return Err(SmtpError::new(
            ErrorCode::ENoAuth,
            "Authentication info was not provided",
        ));
    }
    conn.quit().await;
    Ok(())
}
