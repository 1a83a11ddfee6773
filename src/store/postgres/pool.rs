//! The pool of connections to PostgreSQL, made from a libpq-style URL.
//!
//! TLS follows the URL's `sslmode`, as libpq spells it, with one difference that errs on the
//! safe side:
//!
//! | `sslmode`                            | connection                                        |
//! |--------------------------------------|---------------------------------------------------|
//! | `disable`, `prefer` (the default)    | plain text                                        |
//! | `require`, `verify-ca`, `verify-full`| TLS only; the server's certificate and name are   |
//! |                                      | always verified (libpq's `require` checks neither)|
//!
//! The certificate is checked against the system's roots, or against the PEM file the URL names
//! in `sslrootcert` (a private CA). A password in the URL never reaches an error message.

use super::Error;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres::NoTls;

/// A pool of at most `size` connections to the database at `url`.
pub fn connect(url: &str, size: usize) -> Result<Pool, Error> {
    let (url, root_file) = take_libpq_params(url)?;
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|err| Error::DatabaseUrl(format!("{err}")))?;
    let manager = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match config.get_ssl_mode() {
        SslMode::Require => Manager::from_config(config, tls(root_file.as_deref())?, manager),
        _ if root_file.is_some() => {
            return Err(Error::DatabaseUrl(
                "sslrootcert is for TLS connections: give sslmode=verify-full too".into(),
            ))
        }
        _ => Manager::from_config(config, NoTls, manager),
    };
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|err| Error::DatabaseUrl(err.to_string()))
}

/// The URL as tokio-postgres reads it (libpq's `verify-ca` and `verify-full` are its
/// `require`, which here always verifies), and the `sslrootcert` file it named, taken out.
fn take_libpq_params(url: &str) -> Result<(String, Option<String>), Error> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut kept = Vec::new();
    let mut root_file = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslrootcert", file)) => {
                let file = percent_decode_str(file).decode_utf8().map_err(|_| {
                    Error::DatabaseUrl("sslrootcert is not a UTF-8 file name".into())
                })?;
                root_file = Some(file.into_owned());
            }
            Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require"),
            _ => kept.push(pair),
        }
    }
    let url = match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((url, root_file))
}

/// TLS that trusts the system's roots, or only those in `root_file`.
fn tls(root_file: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, Error> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(file) => {
            let unreadable = |err: rustls::pki_types::pem::Error| {
                Error::DatabaseUrl(format!("sslrootcert {file}: {err}"))
            };
            for cert in CertificateDer::pem_file_iter(file).map_err(unreadable)? {
                roots
                    .add(cert.map_err(unreadable)?)
                    .map_err(|err| Error::DatabaseUrl(format!("sslrootcert {file}: {err}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        return Err(Error::DatabaseUrl(
            "no certificate to verify the database's with: name a CA file in sslrootcert".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::DatabaseUrl(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::take_libpq_params;

    #[test]
    fn libpq_tls_params_are_read_and_the_rest_is_passed_on_untouched() {
        let (url, root) = take_libpq_params(
            "postgres://u:p%40ss@db:5432/skein?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem&options=-c%20a%3Db",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://u:p%40ss@db:5432/skein?sslmode=require&options=-c%20a%3Db"
        );
        assert_eq!(root.as_deref(), Some("/etc/ca x.pem"));
        let (url, root) = take_libpq_params("postgres://db/skein").unwrap();
        assert_eq!((url.as_str(), root), ("postgres://db/skein", None));
        let (url, _) = take_libpq_params("postgres://db/skein?sslrootcert=ca.pem").unwrap();
        assert_eq!(url, "postgres://db/skein");
    }
}
