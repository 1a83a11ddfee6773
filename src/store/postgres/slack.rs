//! The Slack face's mappings and delivered events.

use super::nodes::NODE_GONE_AFTER_SECS;
use super::{execute, Error, PgStore};
use crate::store::InboxEvent;
use uuid::Uuid;

impl PgStore {
    pub async fn link_slack_team(&self, team: &str, org: Uuid) -> Result<(), Error> {
        self.execute(
            "INSERT INTO slack_teams (team, org_id) VALUES ($1, $2)
             ON CONFLICT (team) DO UPDATE SET org_id = EXCLUDED.org_id",
            &[&team, &org],
        )
        .await?;
        Ok(())
    }

    pub async fn slack_team_org(&self, team: &str) -> Result<Option<Uuid>, Error> {
        self.uuid("SELECT org_id FROM slack_teams WHERE team = $1", &[&team])
            .await
    }

    pub async fn slack_user(&self, team: &str, user: &str) -> Result<Option<Uuid>, Error> {
        self.uuid(
            "SELECT user_id FROM slack_users WHERE team = $1 AND slack_user = $2",
            &[&team, &user],
        )
        .await
    }

    pub async fn set_slack_user(&self, team: &str, user: &str, id: Uuid) -> Result<(), Error> {
        self.execute(
            "INSERT INTO slack_users (team, slack_user, user_id) VALUES ($1, $2, $3)
             ON CONFLICT (team, slack_user) DO UPDATE SET user_id = EXCLUDED.user_id",
            &[&team, &user, &id],
        )
        .await?;
        Ok(())
    }

    pub async fn slack_thread(
        &self,
        team: &str,
        channel: &str,
        ts: &str,
    ) -> Result<Option<Uuid>, Error> {
        self.uuid(
            "SELECT thread_id FROM slack_threads WHERE team = $1 AND channel = $2 AND ts = $3",
            &[&team, &channel, &ts],
        )
        .await
    }

    pub async fn set_slack_thread(
        &self,
        team: &str,
        channel: &str,
        ts: &str,
        thread: Uuid,
    ) -> Result<(), Error> {
        self.execute(
            "INSERT INTO slack_threads (team, channel, ts, thread_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (team, channel, ts) DO UPDATE SET thread_id = EXCLUDED.thread_id",
            &[&team, &channel, &ts, &thread],
        )
        .await?;
        Ok(())
    }

    pub async fn accept_slack_event(&self, event_id: &str, body: &[u8]) -> Result<bool, Error> {
        let now = chrono::Utc::now().timestamp_millis().max(0);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let new = execute(
            &tx,
            "INSERT INTO slack_events (event_id, received_ms) VALUES ($1, $2)
             ON CONFLICT (event_id) DO NOTHING",
            &[&event_id, &now],
        )
        .await?
            > 0;
        if new {
            execute(
                &tx,
                "INSERT INTO slack_inbox (event_id, received_ms, body, node) VALUES ($1, $2, $3, $4)",
                &[&event_id, &now, &body, &self.node],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    pub async fn slack_inbox(&self) -> Result<Vec<InboxEvent>, Error> {
        Ok(self
            .query(
                "SELECT event_id, body FROM slack_inbox
                 WHERE node = $1 OR node NOT IN (
                     SELECT id FROM nodes WHERE heartbeat_at > now() - make_interval(secs => $2))
                 ORDER BY received_ms, event_id",
                &[&self.node, &NODE_GONE_AFTER_SECS],
            )
            .await?
            .iter()
            .map(|row| InboxEvent {
                key: row.get::<_, &str>(0).as_bytes().to_vec(),
                body: row.get(1),
            })
            .collect())
    }

    pub async fn slack_event_done(&self, event: &InboxEvent) -> Result<(), Error> {
        let id = String::from_utf8_lossy(&event.key);
        self.execute("DELETE FROM slack_inbox WHERE event_id = $1", &[&id])
            .await?;
        Ok(())
    }

    pub async fn prune_slack_events(&self, before_ms: u64) -> Result<usize, Error> {
        let before = i64::try_from(before_ms).unwrap_or(i64::MAX);
        Ok(self
            .execute(
                "DELETE FROM slack_events WHERE received_ms < $1
                   AND event_id NOT IN (SELECT event_id FROM slack_inbox)",
                &[&before],
            )
            .await? as usize)
    }

    async fn uuid(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<Uuid>, Error> {
        Ok(self.query(sql, params).await?.first().map(|row| row.get(0)))
    }
}
