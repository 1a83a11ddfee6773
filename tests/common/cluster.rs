//! Several nodes on one PostgreSQL and one NATS, for the cluster suites (`tests/cluster*.rs`).

use super::{database_for, on_postgres, Client, TestServer};

/// Nodes sharing one database, one bus and one directory of datasets.
pub struct Cluster {
    pub nodes: Vec<TestServer>,
    /// The first node's admin (the first start made it).
    pub admin: String,
    pub database: String,
    flags: Vec<String>,
    _shared: tempfile::TempDir,
}

impl Cluster {
    /// `size` nodes, or `None` when the run has no PostgreSQL and NATS.
    pub fn start(size: usize) -> Option<Cluster> {
        Cluster::start_with(size, &[])
    }

    /// `size` nodes started with `extra` flags too.
    pub fn start_with(size: usize, extra: &[&str]) -> Option<Cluster> {
        Cluster::start_on(&std::env::var("SKEIN_TEST_NATS").ok()?, size, extra)
    }

    /// `size` nodes on the bus at `bus`, started with `extra` flags too.
    pub fn start_on(bus: &str, size: usize, extra: &[&str]) -> Option<Cluster> {
        if !on_postgres() {
            return None;
        }
        let shared = tempfile::tempdir().unwrap();
        let database = database_for(shared.path()).unwrap();
        let datasets = shared.path().join("datasets");
        let mut flags = vec![
            "--bus".to_string(),
            bus.to_string(),
            "--datasets-dir".to_string(),
            datasets.to_str().unwrap().to_string(),
        ];
        flags.extend(extra.iter().map(|flag| flag.to_string()));
        let mut cluster = Cluster {
            nodes: Vec::new(),
            admin: String::new(),
            database,
            flags,
            _shared: shared,
        };
        for _ in 0..size {
            cluster.add_node();
        }
        cluster.admin = cluster.nodes[0].admin_token.clone().unwrap();
        Some(cluster)
    }

    pub fn add_node(&mut self) -> usize {
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        self.nodes
            .push(TestServer::start_node(&self.database, &flags));
        self.nodes.len() - 1
    }

    pub async fn client(&self, node: usize, token: &str) -> Client {
        Client::connect(&self.nodes[node], token).await
    }
}

/// `skein serve` as one more node on `database` with `flags`; it must fail. Returns stderr.
pub fn node_fails(database: &str, flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(super::binary())
        .args(["--database", database, "serve", "--addr", "127.0.0.1:0"])
        .args(flags)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the node started");
    String::from_utf8(out.stderr).unwrap()
}
