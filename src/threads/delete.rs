//! Deleting threads: by request (all or none), by prune (what may be, the rest skipped), and
//! by TTL expiry. Deletion is soft: the record stays, marked, and every view drops it.

use super::access::{self, Right};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::hub::ConnId;
use crate::model::{Thread, User};
use crate::services::Services;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The largest number of threads one request may delete.
pub const MAX_IDS: usize = 1000;

/// Deletes every thread of `ids` (duplicates ignored) or, if `user` may not delete one of
/// them, none. Returns the threads as they were.
pub async fn delete(
    services: &Services,
    user: &User,
    ids: &[Uuid],
    origin: Option<ConnId>,
) -> Result<Vec<Thread>> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<Uuid> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Err(Error::invalid("give at least one thread id to delete"));
    }
    if ids.len() > MAX_IDS {
        return Err(Error::invalid(format!(
            "at most {MAX_IDS} threads can be deleted at once, got {}",
            ids.len()
        )));
    }
    let now = Utc::now();
    let writer = user.clone();
    let deleted: Vec<Thread> = services
        .store
        .write_threads(move |tx| {
            let user = &writer;
            let mut before = Vec::with_capacity(ids.len());
            for id in &ids {
                let (thread, _) = access::in_write(tx, user, *id, Right::Manage)?;
                tx.put_thread(&thread.deleted(Some(user.id), now))?;
                before.push(thread);
            }
            Ok(before)
        })
        .await?;
    for thread in &deleted {
        services.publish(Event::ThreadDeleted {
            thread: thread.clone(),
            by: Some(user.clone()),
            origin,
        });
    }
    services.settled().await;
    Ok(deleted)
}

/// Deletes each thread of `ids` that `user` may delete, skipping missing ones and those that
/// are not theirs to delete. Returns how many were deleted.
pub async fn prune(services: &Services, user: &User, ids: &[Uuid]) -> Result<u64> {
    let mut pruned = 0;
    for id in ids {
        match delete(services, user, &[*id], None).await {
            Ok(_) => pruned += 1,
            Err(err) if err.is_missing_or_forbidden() => {}
            Err(err) => return Err(err),
        }
    }
    Ok(pruned)
}

/// Deletes the threads whose time-to-live ran out; returns how many.
pub async fn expire(services: &Services) -> Result<usize, crate::store::Error> {
    let mut deleted = 0;
    for id in services.store.expiring_threads().await? {
        let now = Utc::now();
        let before = services
            .store
            .write_threads::<_, crate::store::Error>(move |tx| {
                let Some(thread) = tx.thread(id)? else {
                    return Ok(None);
                };
                // Checked again inside the write: a change since the scan extends the life.
                if thread.deleted_at.is_some() || thread.expires_at().is_none_or(|at| at > now) {
                    return Ok(None);
                }
                tx.put_thread(&thread.deleted(None, now))?;
                Ok(Some(thread))
            })
            .await?;
        if let Some(thread) = before {
            services.publish(Event::ThreadDeleted {
                thread,
                by: None,
                origin: None,
            });
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Looks for expired threads every `every` until `stop`.
pub async fn run_expiry(services: Arc<Services>, every: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.cancelled() => return,
        }
        match expire(&services).await {
            Ok(0) => {}
            Ok(deleted) => {
                crate::metrics::METRICS.ttl_deletions.inc_by(deleted as u64);
                tracing::info!(deleted, "deleted threads whose TTL ran out")
            }
            Err(err) => tracing::error!(error = %err, "TTL sweep failed"),
        }
    }
}
