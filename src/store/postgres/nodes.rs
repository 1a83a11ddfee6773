//! The nodes serving from one database: ids, heartbeats, and who is alive.

use super::{Error, PgStore};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often a node says it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// A node whose heartbeat is older than this is gone: its unfinished analyses are taken over
/// and it no longer holds back pruning of the change log.
pub const NODE_GONE_AFTER_SECS: f64 = 30.0;

/// The file in a node's data dir that keeps its id across restarts.
const NODE_ID_FILE: &str = "node-id";

/// This node's id: read from its data dir, or made and written there on first start.
pub fn node_id(dir: &Path) -> Result<Uuid, Error> {
    let path = dir.join(NODE_ID_FILE);
    let io = |err: std::io::Error| Error::File(format!("{}: {err}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(text) => Uuid::parse_str(text.trim())
            .map_err(|err| Error::Corrupt(format!("{}: {err}", path.display()))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let id = Uuid::now_v7();
            std::fs::write(&path, id.to_string()).map_err(io)?;
            Ok(id)
        }
        Err(err) => Err(io(err)),
    }
}

impl PgStore {
    /// Says this node serves from the database (its heartbeat starts now).
    pub async fn register_node(&self) -> Result<(), Error> {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        self.execute(
            "INSERT INTO nodes (id, host, started_at, heartbeat_at) VALUES ($1, $2, now(), now())
             ON CONFLICT (id) DO UPDATE SET host = $2, started_at = now(), heartbeat_at = now()",
            &[&self.node, &host],
        )
        .await?;
        Ok(())
    }

    pub fn node_id(&self) -> Uuid {
        self.node
    }

    /// The deployment's id (see `migrate`).
    pub async fn cluster_id(&self) -> Result<u64, Error> {
        let rows = self
            .query("SELECT value FROM meta WHERE key = 'cluster_id'", &[])
            .await?;
        Ok(rows[0].try_get::<_, i64>(0)? as u64)
    }

    /// Other nodes with a live heartbeat.
    pub async fn other_live_nodes(&self) -> Result<Vec<Uuid>, Error> {
        Ok(self
            .query(
                "SELECT id FROM nodes WHERE id <> $1
                   AND heartbeat_at > now() - make_interval(secs => $2)",
                &[&self.node, &NODE_GONE_AFTER_SECS],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    /// Keeps this node's heartbeat until `stop`, then removes the node's row: a node that
    /// stops cleanly leaves at once.
    pub async fn run_heartbeat(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(err) = self
                .execute(
                    "UPDATE nodes SET heartbeat_at = now() WHERE id = $1",
                    &[&self.node],
                )
                .await
            {
                tracing::warn!(error = %err, "could not renew this node's heartbeat");
            }
        }
        if let Err(err) = self
            .execute(
                "UPDATE nodes SET heartbeat_at = '-infinity' WHERE id = $1",
                &[&self.node],
            )
            .await
        {
            tracing::warn!(error = %err, "could not mark this node stopped");
        }
    }
}
