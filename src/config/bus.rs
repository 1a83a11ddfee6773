//! `skein serve --bus …`: how a node reaches the NATS server it shares with the other nodes.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct BusFlags {
    /// Join the other nodes serving from the same `--database` over this NATS server
    /// (`nats://host:4222`; `tls://…` to require TLS; `nats://user:password@…` or
    /// `nats://token@…` to authenticate): live updates and presence then span the nodes.
    #[arg(long = "bus", env = "SKEIN_BUS", value_parser = bus_url)]
    pub url: Option<String>,
    /// A NATS credentials file (a user JWT and its NKey seed, as `nsc` writes it).
    #[arg(long = "bus-creds", env = "SKEIN_BUS_CREDS", requires = "url")]
    pub creds: Option<PathBuf>,
    /// A PEM file of the CA that signed the NATS server's certificate, trusted instead of the
    /// system's roots; the connection is then TLS only.
    #[arg(long = "bus-ca", env = "SKEIN_BUS_CA", requires = "url")]
    pub ca: Option<PathBuf>,
}

/// A NATS server URL.
fn bus_url(text: &str) -> Result<String, String> {
    if text.starts_with("nats://") || text.starts_with("tls://") {
        Ok(text.to_string())
    } else {
        Err("expected a NATS URL: nats://host:4222 (or tls://host:4222)".into())
    }
}
