//! Threads and messages: reads, pending analyses, and the change sequence.

use super::nodes::NODE_GONE_AFTER_SECS;
use super::{Error, PgStore};
use crate::model::{Message, Thread};
use uuid::Uuid;

/// Positions are transaction ids (`xid8`), which fit a signed 64-bit number for ~9e18 of them.
fn position(raw: i64) -> u64 {
    raw.max(0) as u64
}

impl PgStore {
    /// This node's unfinished analyses, and those of nodes that are gone.
    pub async fn pending_analyses(&self) -> Result<Vec<(Uuid, Uuid)>, Error> {
        self.unfinished_analyses(true).await
    }

    /// Unfinished analyses of nodes that are gone.
    pub async fn orphaned_analyses(&self) -> Result<Vec<(Uuid, Uuid)>, Error> {
        self.unfinished_analyses(false).await
    }

    async fn unfinished_analyses(&self, mine_too: bool) -> Result<Vec<(Uuid, Uuid)>, Error> {
        Ok(self
            .query(
                "SELECT thread_id, message_id FROM pending_analyses
                 WHERE (node = $1 AND $3) OR node NOT IN (
                     SELECT id FROM nodes WHERE heartbeat_at > now() - make_interval(secs => $2))
                 ORDER BY message_id",
                &[&self.node, &NODE_GONE_AFTER_SECS, &mine_too],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    pub async fn expiring_threads(&self) -> Result<Vec<Uuid>, Error> {
        self.ids("SELECT id FROM threads WHERE expiring ORDER BY id")
            .await
    }

    /// Everything below the oldest running transaction is final.
    pub async fn last_seq(&self) -> Result<u64, Error> {
        let rows = self
            .query(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1",
                &[],
            )
            .await?;
        Ok(position(rows[0].try_get(0)?))
    }

    /// Changes of finished transactions only (see `schema.sql`): the horizon is read first,
    /// so every transaction at or below it had finished before the changes are read.
    pub async fn changes_since(&self, seq: u64) -> Result<(Vec<(u64, Uuid)>, u64), Error> {
        let horizon = self.last_seq().await?;
        let changes = self
            .query(
                "SELECT xid::text::bigint, thread_id FROM changes
                 WHERE xid > $1::text::xid8 AND xid <= $2::text::xid8
                 ORDER BY xid",
                &[&seq.to_string(), &horizon.to_string()],
            )
            .await?
            .iter()
            .map(|row| (position(row.get(0)), row.get(1)))
            .collect();
        Ok((changes, horizon))
    }

    pub async fn changes_after(&self, seq: u64) -> Result<u64, Error> {
        let rows = self
            .query(
                "SELECT count(*) FROM changes WHERE xid > $1::text::xid8",
                &[&seq.to_string()],
            )
            .await?;
        Ok(position(rows[0].try_get(0)?))
    }

    /// Records how far this node indexed, and prunes below what every live node has.
    pub async fn prune_changes(&self, seq: u64) -> Result<(), Error> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.execute(
            "UPDATE nodes SET indexed = greatest(indexed, $2) WHERE id = $1",
            &[&self.node, &seq],
        )
        .await?;
        let rows = self
            .query(
                "SELECT min(indexed) FROM nodes
                 WHERE heartbeat_at > now() - make_interval(secs => $1)",
                &[&NODE_GONE_AFTER_SECS],
            )
            .await?;
        let Some(everyone) = rows[0].try_get::<_, Option<i64>>(0)?.filter(|&i| i > 0) else {
            return Ok(());
        };
        self.execute(
            "DELETE FROM changes WHERE xid <= $1::text::xid8",
            &[&everyone.to_string()],
        )
        .await?;
        self.execute(
            "INSERT INTO meta (key, value) VALUES ('changes_pruned_to', $1)
             ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, EXCLUDED.value)",
            &[&everyone],
        )
        .await?;
        Ok(())
    }

    pub async fn changes_pruned_to(&self) -> Result<u64, Error> {
        let rows = self
            .query(
                "SELECT value FROM meta WHERE key = 'changes_pruned_to'",
                &[],
            )
            .await?;
        Ok(rows.first().map_or(0, |row| position(row.get(0))))
    }

    pub async fn has_messages(&self) -> Result<bool, Error> {
        let rows = self
            .query("SELECT EXISTS (SELECT 1 FROM messages)", &[])
            .await?;
        Ok(rows[0].try_get(0)?)
    }

    pub async fn thread_ids(&self) -> Result<Vec<Uuid>, Error> {
        self.ids("SELECT id FROM threads ORDER BY id").await
    }

    pub async fn message_by_id(&self, message_id: Uuid) -> Result<Option<Message>, Error> {
        self.record("SELECT record FROM messages WHERE id = $1", &[&message_id])
            .await
    }

    pub async fn thread(&self, id: Uuid) -> Result<Option<Thread>, Error> {
        self.record("SELECT record FROM threads WHERE id = $1", &[&id])
            .await
    }

    pub async fn messages(&self, thread_id: Uuid) -> Result<Vec<Message>, Error> {
        self.records(
            "SELECT record FROM messages WHERE thread_id = $1 ORDER BY position",
            &[&thread_id],
        )
        .await
    }

    pub async fn latest_message(&self, thread_id: Uuid) -> Result<Option<Message>, Error> {
        self.record(
            "SELECT record FROM messages WHERE thread_id = $1 ORDER BY position DESC LIMIT 1",
            &[&thread_id],
        )
        .await
    }

    pub async fn threads_in_org(&self, org_id: Uuid) -> Result<Vec<Thread>, Error> {
        self.records(
            "SELECT record FROM threads WHERE org_id = $1 ORDER BY id",
            &[&org_id],
        )
        .await
    }

    pub async fn threads_of_member(&self, user_id: Uuid) -> Result<Vec<Thread>, Error> {
        self.records(
            "SELECT t.record FROM thread_members m JOIN threads t ON t.id = m.thread_id
             WHERE m.user_id = $1 ORDER BY t.id",
            &[&user_id],
        )
        .await
    }

    /// The ids in column 0 of `sql`'s rows.
    async fn ids(&self, sql: &str) -> Result<Vec<Uuid>, Error> {
        Ok(self
            .query(sql, &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }
}
