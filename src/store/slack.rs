//! What the Slack face keeps: linked workspaces, Slack users and threads mapped to ours, and
//! the events Slack delivered (kept an hour to catch retries, also across restarts; pending
//! ones in an inbox until handled, so an acknowledged event survives a crash).

use super::{Backend, Error, Store};
use uuid::Uuid;

/// A delivered event waiting to be handled.
pub struct InboxEvent {
    /// The backend's key of the inbox entry.
    pub(super) key: Vec<u8>,
    pub body: Vec<u8>,
}

impl Store {
    pub async fn link_slack_team(&self, team: &str, org: Uuid) -> Result<(), Error> {
        on_backend!(async self, b => b.link_slack_team(team, org))
    }

    pub async fn slack_team_org(&self, team: &str) -> Result<Option<Uuid>, Error> {
        on_backend!(self, b => b.slack_team_org(team))
    }

    pub async fn slack_user(&self, team: &str, user: &str) -> Result<Option<Uuid>, Error> {
        on_backend!(self, b => b.slack_user(team, user))
    }

    pub async fn set_slack_user(&self, team: &str, user: &str, id: Uuid) -> Result<(), Error> {
        on_backend!(async self, b => b.set_slack_user(team, user, id))
    }

    pub async fn slack_thread(
        &self,
        team: &str,
        channel: &str,
        ts: &str,
    ) -> Result<Option<Uuid>, Error> {
        on_backend!(self, b => b.slack_thread(team, channel, ts))
    }

    pub async fn set_slack_thread(
        &self,
        team: &str,
        channel: &str,
        ts: &str,
        thread: Uuid,
    ) -> Result<(), Error> {
        on_backend!(async self, b => b.set_slack_thread(team, channel, ts, thread))
    }

    /// Keeps a delivered event (durably) unless `event_id` was seen; returns whether it is new.
    pub async fn accept_slack_event(&self, event_id: &str, body: &[u8]) -> Result<bool, Error> {
        on_backend!(async self, b => b.accept_slack_event(event_id, body))
    }

    /// The events not handled yet, oldest first.
    pub async fn slack_inbox(&self) -> Result<Vec<InboxEvent>, Error> {
        on_backend!(self, b => b.slack_inbox())
    }

    /// Marks an event handled (durably: it is not handled again after a restart).
    pub async fn slack_event_done(&self, event: &InboxEvent) -> Result<(), Error> {
        on_backend!(async self, b => b.slack_event_done(event))
    }

    /// Forgets the ids of events received before `before_ms`, handled ones only.
    pub async fn prune_slack_events(&self, before_ms: u64) -> Result<usize, Error> {
        on_backend!(self, b => b.prune_slack_events(before_ms))
    }
}
