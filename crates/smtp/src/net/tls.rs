//! TLS on a [`Stream`]: the rustls client configuration for [`TlsOptions`] (built and cached
//! by `mailer-tls`; here `ca` adds to webpki-roots, it does not replace them), the server name
//! to verify, the handshake, Node's `checkServerIdentity`, and the error codes nodemailer gives
//! a failed handshake. Used for implicit TLS, STARTTLS and `https:` proxies.

use std::net::IpAddr;
use std::sync::Arc;

use mailer_tls::{ClientCert, MinVersion, TlsSettings};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use super::stream::Stream;
use crate::error::{ErrorCode, SmtpError};
use crate::options::TlsOptions;

/// ETLS "Error initiating TLS - reason" (lib/smtp-connection's TLS setup failures).
pub(crate) fn tls_error(reason: impl std::fmt::Display, command: &str) -> SmtpError {
    SmtpError::format(
        ErrorCode::ETls,
        format!("Error initiating TLS - {reason}"),
        None,
        Some(command),
    )
}

/// A failed TLS handshake on the SMTP socket, coded as nodemailer's (lib/smtp-connection): the
/// peer closing the socket during the upgrade is ETLS "Error initiating TLS"; anything else
/// (a certificate not trusted or not for this host, a protocol error) surfaces there as the TLS
/// socket's own error, ESOCKET with command CONN.
pub(crate) fn handshake_error(e: std::io::Error, command: &str) -> SmtpError {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    if matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    ) {
        tls_error(e, command)
    } else {
        SmtpError::new(ErrorCode::ESocket, e.to_string()).with_command("CONN")
    }
}

/// The client handshake on `stream`, for `name`. The error is the handshake's own, for the
/// caller to code (see [`handshake_error`]): nodemailer codes it by where the TLS runs.
pub(crate) async fn connect(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    stream: Stream,
) -> std::io::Result<Stream> {
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await?;
    Ok(Stream::Tls(Box::new(tls)))
}

/// Node's `checkServerIdentity` (when given and certificates are verified): called with the
/// server name and the peer's chain once the handshake is done, before any SMTP byte goes over
/// TLS; a reason it returns fails the connection as Node's socket error does (ESOCKET).
pub(crate) async fn check_identity(
    opts: &TlsOptions,
    name: &ServerName<'static>,
    stream: &Stream,
) -> Result<(), SmtpError> {
    let Some(check) = &opts.check_server_identity else {
        return Ok(());
    };
    // Node ignores the answer without rejectUnauthorized
    if !opts.reject_unauthorized {
        return Ok(());
    }
    let chain: Vec<Vec<u8>> = match stream {
        Stream::Tls(tls) => tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.to_vec()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let host = match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    };
    match (check.0)(host, chain).await {
        None => Ok(()),
        Some(reason) => Err(SmtpError::format(
            ErrorCode::ESocket,
            reason,
            None,
            Some("CONN"),
        )),
    }
}

/// The shared settings for `opts`.
fn settings(opts: &TlsOptions) -> TlsSettings {
    TlsSettings {
        reject_unauthorized: opts.reject_unauthorized,
        ca: opts.ca.clone(),
        ca_replaces_roots: false,
        min_version: match opts.min_version.as_deref() {
            Some("TLSv1.3") => Some(MinVersion::Tls13),
            // rustls has nothing below 1.2, so "TLSv1"/"TLSv1.1"/"TLSv1.2" all mean 1.2+
            _ => None,
        },
        // A certificate without its key (or the reverse) is ignored, as before.
        client_cert: match (&opts.cert, &opts.key) {
            (Some(cert), Some(key)) => Some(ClientCert {
                cert_chain: cert.clone(),
                key: key.clone(),
                passphrase: opts.passphrase.clone(),
            }),
            _ => None,
        },
        // a checkServerIdentity replaces the name check, as in Node
        skip_hostname: opts.check_server_identity.is_some(),
    }
}

/// The (cached) client config for `opts`. `command` is the error's `command` field.
pub(crate) fn client_config(
    opts: &TlsOptions,
    command: &str,
) -> Result<Arc<ClientConfig>, SmtpError> {
    // Node's tls refuses a protocol name it does not know (ERR_TLS_INVALID_PROTOCOL_VERSION)
    // rather than ignoring it
    if let Some(v) = opts.min_version.as_deref() {
        if !matches!(v, "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3") {
            return Err(tls_error(
                format!("{v:?} is not a valid minimum TLS protocol version"),
                command,
            ));
        }
    }
    mailer_tls::cached_client_config(&settings(opts)).map_err(|e| tls_error(e, command))
}

/// The server name for SNI and verification: `servername`, else `host`.
/// rustls sends no SNI for an IP name and verifies the IP against the certificate.
pub(crate) fn server_name(
    opts: &TlsOptions,
    host: &str,
    command: &str,
) -> Result<ServerName<'static>, SmtpError> {
    let name = opts
        .servername
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(name.to_string()).map_err(|e| tls_error(e, command))
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_min_version_is_refused_as_node_does() {
        let opts = TlsOptions {
            min_version: Some("TLSv9".to_string()),
            ..Default::default()
        };
        let e = super::client_config(&opts, "STARTTLS").unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::ETls);
        assert!(e
            .message
            .contains("\"TLSv9\" is not a valid minimum TLS protocol version"));
        let ok = TlsOptions {
            min_version: Some("TLSv1.2".to_string()),
            ..Default::default()
        };
        assert!(super::client_config(&ok, "STARTTLS").is_ok());
    }

    use super::*;

    #[test]
    fn builds_and_caches() {
        let o = TlsOptions::default();
        let a = client_config(&o, "CONN").unwrap();
        let b = client_config(&o, "CONN").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn bad_ca_is_etls() {
        let o = TlsOptions {
            ca: vec!["-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into()],
            ..Default::default()
        };
        let e = client_config(&o, "CONN").unwrap_err();
        assert_eq!(e.code, ErrorCode::ETls);
        assert!(
            e.message.starts_with("Error initiating TLS - "),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_key_error_has_no_key_text() {
        let ca = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../__test__/fixtures/ca.pem"
        ))
        .unwrap();
        let o = TlsOptions {
            cert: Some(ca),
            key: Some("SECRETKEYMATERIAL".into()),
            ..Default::default()
        };
        let e = client_config(&o, "CONN").unwrap_err();
        assert_eq!(
            e.message,
            "Error initiating TLS - invalid client private key"
        );
    }

    #[test]
    fn client_certificate_and_min_version() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../__test__/fixtures");
        let o = TlsOptions {
            cert: Some(std::fs::read_to_string(format!("{dir}/client.pem")).unwrap()),
            key: Some(std::fs::read_to_string(format!("{dir}/client.key")).unwrap()),
            min_version: Some("TLSv1.3".into()),
            ..Default::default()
        };
        let cfg = client_config(&o, "CONN").unwrap();
        assert!(cfg.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn settings_mapping() {
        let o = TlsOptions {
            reject_unauthorized: false,
            ca: vec!["CA".into()],
            min_version: Some("TLSv1.3".into()),
            cert: Some("C".into()),
            key: Some("K".into()),
            servername: Some("ignored".into()),
            ..Default::default()
        };
        assert_eq!(
            settings(&o),
            TlsSettings {
                reject_unauthorized: false,
                ca: vec!["CA".into()],
                // SMTP: ca adds to webpki-roots
                ca_replaces_roots: false,
                min_version: Some(MinVersion::Tls13),
                client_cert: Some(ClientCert {
                    cert_chain: "C".into(),
                    key: "K".into(),
                    passphrase: None,
                }),
                skip_hostname: false,
            }
        );
        for v in ["TLSv1", "TLSv1.1", "TLSv1.2", "bogus"] {
            let o = TlsOptions {
                min_version: Some(v.into()),
                cert: Some("C".into()),
                ..Default::default()
            };
            let s = settings(&o);
            assert_eq!((s.min_version, s.client_cert), (None, None), "{v}");
        }
    }

    #[test]
    fn server_names() {
        let o = TlsOptions::default();
        assert!(matches!(
            server_name(&o, "127.0.0.1", "CONN").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name(&o, "localhost", "CONN").unwrap(),
            ServerName::DnsName(_)
        ));
        let o = TlsOptions {
            servername: Some("mx.example.com".into()),
            ..Default::default()
        };
        match server_name(&o, "127.0.0.1", "CONN").unwrap() {
            ServerName::DnsName(d) => assert_eq!(d.as_ref(), "mx.example.com"),
            other => panic!("{other:?}"),
        }
    }
}
