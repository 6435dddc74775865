//! Real handshakes, in memory, against a server whose certificate the private test CA issued.

use super::*;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConnection, Connection, Error, ServerConfig, ServerConnection,
};

use crate::test_util::{CA, SERVER_CERT, SERVER_KEY};
const CLIENT_CERT: &str = include_str!("../../../__test__/fixtures/client.pem");
const CLIENT_KEY: &str = include_str!("../../../__test__/fixtures/client.key");
/// `CLIENT_KEY` as encrypted PKCS#8, passphrase `client-pass`.
const CLIENT_KEY_ENCRYPTED: &str = include_str!("../../../__test__/fixtures/client.enc.key");
/// Self-signed X.509 v1, CN=localhost (no extensions at all), as smtp-server's built-in one.
const V1_CERT: &str = include_str!("../../../__test__/fixtures/v1.pem");
const V1_KEY: &str = include_str!("../../../__test__/fixtures/v1.key");

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn key(pem: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// Serves `cert` signed with `key` (a mismatched pair is the point of one test).
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

struct Server<'a> {
    cert_pem: &'static str,
    key_pem: &'static str,
    versions: &'a [&'static rustls::SupportedProtocolVersion],
    require_client_cert: bool,
}

const SERVER: Server<'static> = Server {
    cert_pem: SERVER_CERT,
    key_pem: SERVER_KEY,
    versions: &[&rustls::version::TLS13, &rustls::version::TLS12],
    require_client_cert: false,
};

fn server_config(s: &Server<'_>) -> Arc<ServerConfig> {
    let p = provider();
    let signing = p.key_provider.load_private_key(key(s.key_pem)).unwrap();
    let resolver = Arc::new(Fixed(Arc::new(CertifiedKey::new(
        certs(s.cert_pem),
        signing,
    ))));
    let b = ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(s.versions)
        .unwrap();
    let b = if s.require_client_cert {
        let mut roots = RootCertStore::empty();
        roots.add(certs(CA).remove(0)).unwrap();
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), p)
            .build()
            .unwrap();
        b.with_client_cert_verifier(v)
    } else {
        b.with_no_client_auth()
    };
    Arc::new(b.with_cert_resolver(resolver))
}

/// `base` offering only TLS 1.3, then only TLS 1.2.
fn each_version(base: &Server<'static>) -> [Server<'static>; 2] {
    static ONE: [&[&rustls::SupportedProtocolVersion]; 2] =
        [&[&rustls::version::TLS13], &[&rustls::version::TLS12]];
    ONE.map(|versions| Server { versions, ..*base })
}

/// `server`'s certificate presented with a handshake signed by `key_pem`, another key:
/// the client rejects the signature whatever it trusts.
fn assert_bad_signature(s: &TlsSettings, server: &Server<'_>, key_pem: &'static str) {
    let forged = Server { key_pem, ..*server };
    assert_eq!(
        handshake(client_config(s).unwrap(), &forged),
        Err(Error::InvalidCertificate(CertificateError::BadSignature)),
        "{:?}",
        server.versions
    );
}

/// Runs a handshake to the end; the first error either side raises.
fn handshake(client: ClientConfig, server: &Server<'_>) -> Result<(), Error> {
    handshake_as(client, server, "localhost")
}

fn handshake_as(client: ClientConfig, server: &Server<'_>, name: &str) -> Result<(), Error> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    let mut c = Connection::from(ClientConnection::new(Arc::new(client), name).unwrap());
    let mut s = Connection::from(ServerConnection::new(server_config(server)).unwrap());
    for _ in 0..20 {
        pump(&mut c, &mut s)?;
        pump(&mut s, &mut c)?;
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

/// Hands everything `from` has to send to `to`; the first error `to` raises reading it.
fn pump(from: &mut Connection, to: &mut Connection) -> Result<(), Error> {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
        to.process_new_packets()?;
    }
    Ok(())
}

fn settings() -> TlsSettings {
    TlsSettings::default()
}

#[test]
fn private_ca_rejected_without_ca() {
    let cfg = client_config(&settings()).unwrap();
    assert_eq!(
        handshake(cfg, &SERVER),
        Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    );
}

#[test]
fn private_ca_accepted_with_ca_added_or_replacing() {
    for replace in [false, true] {
        let s = TlsSettings {
            ca: vec![CA.into()],
            ca_replaces_roots: replace,
            ..settings()
        };
        assert_eq!(handshake(client_config(&s).unwrap(), &SERVER), Ok(()));
    }
}

#[test]
fn root_store_adds_or_replaces() {
    let webpki = webpki_roots::TLS_SERVER_ROOTS.len();
    assert_eq!(root_store(&[], false).unwrap().len(), webpki);
    assert_eq!(root_store(&[], true).unwrap().len(), webpki);
    assert_eq!(root_store(&[CA.into()], false).unwrap().len(), webpki + 1);
    assert_eq!(root_store(&[CA.into()], true).unwrap().len(), 1);
    // two PEM strings, one holding two certificates
    let two = format!("{CA}\n{CA}");
    assert_eq!(root_store(&[two, CA.into()], true).unwrap().len(), 3);
}

#[test]
fn ca_without_certificates() {
    // adding: nothing to add is not an error (SMTP's behaviour)
    let n = root_store(&["not a pem".into()], false).unwrap().len();
    assert_eq!(n, webpki_roots::TLS_SERVER_ROOTS.len());
    // replacing: an empty trust store would reject everything, so it is refused
    let e = root_store(&["not a pem".into()], true).unwrap_err();
    assert!(matches!(e, TlsConfigError::NoCaCertificate), "{e:?}");
    assert_eq!(e.to_string(), "no certificate found in ca");
}

#[test]
fn bad_ca_pem_is_an_error() {
    let bad = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
    for replace in [false, true] {
        let s = TlsSettings {
            ca: vec![bad.into()],
            ca_replaces_roots: replace,
            ..settings()
        };
        let e = client_config(&s).unwrap_err();
        assert!(matches!(e, TlsConfigError::CaPem(_)), "{e:?}");
        assert!(
            e.to_string().starts_with("invalid certificate PEM: "),
            "{e}"
        );
    }
    // valid PEM, but not a certificate
    let s = TlsSettings {
        ca: vec!["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()],
        ..settings()
    };
    let e = client_config(&s).unwrap_err();
    assert!(matches!(e, TlsConfigError::CaCertificate(_)), "{e:?}");
    assert!(e.to_string().starts_with("invalid CA certificate: "), "{e}");
}

#[test]
fn accept_any_skips_chain_checks_and_ignores_ca() {
    let s = TlsSettings {
        reject_unauthorized: false,
        // not read when nothing is verified
        ca: vec!["not a pem".into()],
        ca_replaces_roots: true,
        ..settings()
    };
    assert_eq!(handshake(client_config(&s).unwrap(), &SERVER), Ok(()));
}

#[test]
fn accept_any_still_checks_handshake_signatures() {
    let s = TlsSettings {
        reject_unauthorized: false,
        ..settings()
    };
    // server.pem presented, but signed with another RSA key, over both versions
    for server in each_version(&SERVER) {
        assert_bad_signature(&s, &server, CLIENT_KEY);
    }
}

#[test]
fn min_version() {
    let tls12_server = Server {
        versions: &[&rustls::version::TLS12],
        ..SERVER
    };
    let mut s = TlsSettings {
        ca: vec![CA.into()],
        min_version: Some(MinVersion::Tls13),
        ..settings()
    };
    let e = handshake(client_config(&s).unwrap(), &tls12_server).unwrap_err();
    assert!(
        matches!(e, Error::PeerIncompatible(_) | Error::AlertReceived(_)),
        "{e:?}"
    );
    s.min_version = Some(MinVersion::Tls12);
    assert_eq!(handshake(client_config(&s).unwrap(), &tls12_server), Ok(()));
    s.min_version = None;
    assert_eq!(handshake(client_config(&s).unwrap(), &tls12_server), Ok(()));
}

#[test]
fn client_certificate_sent_when_given() {
    let server = Server {
        require_client_cert: true,
        ..SERVER
    };
    let mut s = TlsSettings {
        ca: vec![CA.into()],
        ..settings()
    };
    assert_eq!(
        handshake(client_config(&s).unwrap(), &server),
        Err(Error::NoCertificatesPresented)
    );
    s.client_cert = Some(ClientCert {
        cert_chain: CLIENT_CERT.into(),
        key: CLIENT_KEY.into(),
        passphrase: None,
    });
    let cfg = client_config(&s).unwrap();
    assert!(cfg.client_auth_cert_resolver.has_certs());
    assert_eq!(handshake(cfg, &server), Ok(()));
}

#[test]
fn bad_client_key_error_has_no_key_text() {
    let s = TlsSettings {
        client_cert: Some(ClientCert {
            cert_chain: CLIENT_CERT.into(),
            key: "SECRETKEYMATERIAL".into(),
            passphrase: None,
        }),
        ..settings()
    };
    let e = client_config(&s).unwrap_err();
    assert!(matches!(e, TlsConfigError::ClientKey), "{e:?}");
    assert_eq!(e.to_string(), "invalid client private key");
    assert!(!format!("{s:?}").contains("SECRETKEYMATERIAL"));
}

#[test]
fn mismatched_client_pair_is_client_auth_error() {
    let s = TlsSettings {
        client_cert: Some(ClientCert {
            cert_chain: CLIENT_CERT.into(),
            key: SERVER_KEY.into(),
            passphrase: None,
        }),
        ..settings()
    };
    let e = client_config(&s).unwrap_err();
    assert!(matches!(e, TlsConfigError::ClientAuth(_)), "{e:?}");
    assert!(!e.to_string().contains("PRIVATE KEY"), "{e}");
}

#[test]
fn cache_shares_equal_settings_only() {
    let a = cached_client_config(&settings()).unwrap();
    let b = cached_client_config(&settings()).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let other = TlsSettings {
        reject_unauthorized: false,
        ..settings()
    };
    let c = cached_client_config(&other).unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert!(cached_client_config(&TlsSettings {
        ca: vec!["-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into()],
        ..settings()
    })
    .is_err());
}

const V1_SERVER: Server<'static> = Server {
    cert_pem: V1_CERT,
    key_pem: V1_KEY,
    ..SERVER
};

#[test]
fn v1_fixture_is_v1() {
    let der = certs(V1_CERT).remove(0);
    assert!(v1::is_v1(&der));
    assert!(!v1::is_v1(&certs(SERVER_CERT).remove(0)));
    assert!(!v1::is_v1(&certs(CA).remove(0)));
    assert!(!v1::is_v1(b"not der"));
}

#[test]
fn v1_certificate_accepted_without_verification_on_both_versions() {
    let s = TlsSettings {
        reject_unauthorized: false,
        ..settings()
    };
    for server in each_version(&V1_SERVER) {
        let cfg = client_config(&s).unwrap();
        assert_eq!(handshake(cfg, &server), Ok(()), "{:?}", server.versions);
        // the handshake signature is still checked with the v1 certificate's key
        assert_bad_signature(&s, &server, SERVER_KEY);
    }
}

#[test]
fn v1_certificate_trusted_when_given_as_ca() {
    let s = TlsSettings {
        ca: vec![V1_CERT.into()],
        ..settings()
    };
    for server in each_version(&V1_SERVER) {
        assert_eq!(
            handshake(client_config(&s).unwrap(), &server),
            Ok(()),
            "{:?}",
            server.versions
        );
    }
    // v1 has no subjectAltName: a DNS name is matched against the CN, an IP never (Node)
    assert_eq!(
        handshake_as(client_config(&s).unwrap(), &V1_SERVER, "LOCALHOST"),
        Ok(())
    );
    assert_eq!(
        handshake_as(client_config(&s).unwrap(), &V1_SERVER, "mx.example.com"),
        Err(Error::InvalidCertificate(CertificateError::NotValidForName))
    );
    assert_eq!(
        handshake_as(client_config(&s).unwrap(), &V1_SERVER, "127.0.0.1"),
        Err(Error::InvalidCertificate(CertificateError::NotValidForName))
    );
    // unless the caller checks the identity itself
    let skip = TlsSettings {
        skip_hostname: true,
        ..s
    };
    assert_eq!(
        handshake_as(client_config(&skip).unwrap(), &V1_SERVER, "127.0.0.1"),
        Ok(())
    );
}

#[test]
fn v1_certificate_not_in_ca_is_refused_with_a_reason() {
    for ca in [vec![], vec![CA.to_string()]] {
        let s = TlsSettings { ca, ..settings() };
        let e = handshake(client_config(&s).unwrap(), &V1_SERVER).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("X.509 v1"), "{text}");
        assert!(text.contains("tls.ca"), "{text}");
    }
}

#[test]
fn skip_hostname_still_verifies_the_chain() {
    let s = TlsSettings {
        ca: vec![CA.into()],
        skip_hostname: true,
        ..settings()
    };
    assert_eq!(
        handshake_as(client_config(&s).unwrap(), &SERVER, "mx.example.com"),
        Ok(())
    );
    let s = TlsSettings {
        skip_hostname: true,
        ..settings()
    };
    assert_eq!(
        handshake(client_config(&s).unwrap(), &SERVER),
        Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    );
    let s = TlsSettings {
        ca: vec![CA.into()],
        ..settings()
    };
    assert!(matches!(
        handshake_as(client_config(&s).unwrap(), &SERVER, "mx.example.com"),
        Err(Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ))
    ));
}

#[test]
fn encrypted_client_key_with_passphrase() {
    let server = Server {
        require_client_cert: true,
        ..SERVER
    };
    let with = |key: &str, passphrase: Option<&str>| TlsSettings {
        ca: vec![CA.into()],
        client_cert: Some(ClientCert {
            cert_chain: CLIENT_CERT.into(),
            key: key.into(),
            passphrase: passphrase.map(str::to_string),
        }),
        ..settings()
    };
    let cfg = client_config(&with(CLIENT_KEY_ENCRYPTED, Some("client-pass"))).unwrap();
    assert_eq!(handshake(cfg, &server), Ok(()));
    // a passphrase for a key that is not encrypted is not needed, as in Node
    let cfg = client_config(&with(CLIENT_KEY, Some("client-pass"))).unwrap();
    assert_eq!(handshake(cfg, &server), Ok(()));

    let e = client_config(&with(CLIENT_KEY_ENCRYPTED, Some("wrong"))).unwrap_err();
    assert!(matches!(e, TlsConfigError::ClientKeyDecrypt), "{e:?}");
    let e = client_config(&with(CLIENT_KEY_ENCRYPTED, None)).unwrap_err();
    assert!(matches!(e, TlsConfigError::ClientKeyPassphrase), "{e:?}");
    assert!(e.to_string().contains("tls.passphrase"), "{e}");
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let e = client_config(&with(legacy, Some("client-pass"))).unwrap_err();
    assert!(
        matches!(e, TlsConfigError::ClientKeyLegacyEncryption),
        "{e:?}"
    );
    // neither the key nor the passphrase reaches a message or Debug output
    let s = with(CLIENT_KEY_ENCRYPTED, Some("client-pass"));
    let shown = format!(
        "{s:?} {}",
        client_config(&with(CLIENT_KEY_ENCRYPTED, Some("wrong"))).unwrap_err()
    );
    assert!(
        !shown.contains("client-pass") && !shown.contains("PRIVATE KEY"),
        "{shown}"
    );
}

#[test]
fn decrypt_pkcs8_pem_finds_the_block() {
    let wrapped = format!("{CLIENT_CERT}{CLIENT_KEY_ENCRYPTED}");
    assert!(decrypt_pkcs8_pem(&wrapped, "client-pass").is_some());
    assert!(decrypt_pkcs8_pem(CLIENT_KEY_ENCRYPTED, "nope").is_none());
    assert!(decrypt_pkcs8_pem(CLIENT_KEY, "client-pass").is_none());
}
