//! What the Slack face keeps: linked workspaces, Slack users and threads mapped to ours, and
//! the events Slack delivered (kept an hour to catch retries, also across restarts; pending
//! ones in an inbox until handled, so an acknowledged event survives a crash).
//!
//! | tree            | key                               | value                          |
//! |-----------------|-----------------------------------|--------------------------------|
//! | `slack_teams`   | team id                           | org id                         |
//! | `slack_users`   | team id, 0, Slack user id         | user id                        |
//! | `slack_threads` | team id, 0, channel, 0, thread ts | thread id                      |
//! | `slack_events`  | event id                          | received at (ms, big endian)   |
//! | `slack_inbox`   | received at (ms) ++ event id      | the event's body               |

use super::{Error, SledStore};
use crate::store::InboxEvent;
use sled::Transactional;
use uuid::Uuid;

fn joined(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

fn uuid_value(raw: Option<sled::IVec>) -> Result<Option<Uuid>, Error> {
    raw.map(|raw| {
        Uuid::from_slice(&raw).map_err(|e| Error::Sled(sled::Error::Unsupported(e.to_string())))
    })
    .transpose()
}

impl SledStore {
    pub async fn link_slack_team(&self, team: &str, org: Uuid) -> Result<(), Error> {
        let t = self.trees()?;
        t.slack_teams.insert(team.as_bytes(), org.as_bytes())?;
        self.flush().await
    }

    pub fn slack_team_org(&self, team: &str) -> Result<Option<Uuid>, Error> {
        let t = self.trees()?;
        uuid_value(t.slack_teams.get(team.as_bytes())?)
    }

    pub fn slack_user(&self, team: &str, user: &str) -> Result<Option<Uuid>, Error> {
        let t = self.trees()?;
        uuid_value(t.slack_users.get(joined(&[team, user]))?)
    }

    pub async fn set_slack_user(&self, team: &str, user: &str, id: Uuid) -> Result<(), Error> {
        let t = self.trees()?;
        t.slack_users.insert(joined(&[team, user]), id.as_bytes())?;
        self.flush().await
    }

    pub fn slack_thread(&self, team: &str, channel: &str, ts: &str) -> Result<Option<Uuid>, Error> {
        let t = self.trees()?;
        uuid_value(t.slack_threads.get(joined(&[team, channel, ts]))?)
    }

    pub async fn set_slack_thread(
        &self,
        team: &str,
        channel: &str,
        ts: &str,
        thread: Uuid,
    ) -> Result<(), Error> {
        let t = self.trees()?;
        t.slack_threads
            .insert(joined(&[team, channel, ts]), thread.as_bytes())?;
        self.flush().await
    }

    /// Keeps a delivered event (durably) unless `event_id` was seen; returns whether it is new.
    pub async fn accept_slack_event(&self, event_id: &str, body: &[u8]) -> Result<bool, Error> {
        let t = self.trees()?;
        let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let mut inbox_key = now.to_be_bytes().to_vec();
        inbox_key.extend_from_slice(event_id.as_bytes());
        let result = self.gated(|| {
            (&t.slack_events, &t.slack_inbox).transaction(|(events, inbox)| {
                if events.get(event_id.as_bytes())?.is_some() {
                    return Ok(false);
                }
                events.insert(event_id.as_bytes(), &now.to_be_bytes())?;
                inbox.insert(inbox_key.as_slice(), body)?;
                Ok(true)
            })
        });
        let new = super::finish::<_, Error>(result)?;
        if new {
            self.flush().await?;
        }
        Ok(new)
    }

    /// The events not handled yet, oldest first.
    pub fn slack_inbox(&self) -> Result<Vec<InboxEvent>, Error> {
        let t = self.trees()?;
        t.slack_inbox
            .iter()
            .map(|entry| {
                let (key, body) = entry?;
                Ok(InboxEvent {
                    key: key.to_vec(),
                    body: body.to_vec(),
                })
            })
            .collect()
    }

    /// Marks an event handled (durably: it is not handled again after a restart).
    pub async fn slack_event_done(&self, event: &InboxEvent) -> Result<(), Error> {
        let t = self.trees()?;
        t.slack_inbox.remove(&event.key)?;
        self.flush().await
    }

    /// Forgets the ids of events received before `before_ms`, handled ones only.
    pub fn prune_slack_events(&self, before_ms: u64) -> Result<usize, Error> {
        let t = self.trees()?;
        let mut batch = sled::Batch::default();
        let mut count = 0;
        for entry in t.slack_events.iter() {
            let (id, at) = entry?;
            if super::codec::decode_u64(&at) < before_ms {
                batch.remove(id);
                count += 1;
            }
        }
        t.slack_events.apply_batch(batch)?;
        Ok(count)
    }
}
