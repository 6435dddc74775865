//! The loopback TLS server of every crate's tests (test builds, or the `test-util` feature
//! that the dev-dependencies of mailer-smtp and mailer-oauth2 enable): the committed
//! fixtures in `__test__/fixtures/` (a private test CA and a `localhost` server certificate
//! it issued, shared with the JS suites) and the rustls server configuration built from them.
//! A test client trusts the server by passing [`CA`] as its `ca`.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The private test CA (PEM) that issued [`SERVER_CERT`].
pub const CA: &str = include_str!("../../../__test__/fixtures/ca.pem");
/// The server certificate (PEM), for `localhost` and 127.0.0.1.
pub const SERVER_CERT: &str = include_str!("../../../__test__/fixtures/server.pem");
/// The private key (PEM) of [`SERVER_CERT`].
pub const SERVER_KEY: &str = include_str!("../../../__test__/fixtures/server.key");

/// A rustls server config that presents [`SERVER_CERT`] (ring provider, rustls' default
/// protocol versions, no client certificate asked for).
pub fn server_config() -> Arc<rustls::ServerConfig> {
    let certs = CertificateDer::pem_slice_iter(SERVER_CERT.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the server certificate fixture parses");
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes())
        .expect("the server key fixture parses");
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("the fixture key matches its certificate");
    Arc::new(cfg)
}
