//! The TTL sweeper: deletes threads whose time-to-live has run out since their last change,
//! and tells their watchers and lists, as a delete through either API would.

use crate::services::Services;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

pub async fn run_sweeper(services: Arc<Services>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match sweep(&services).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted threads whose TTL ran out"),
            Err(err) => tracing::error!(error = %err, "TTL sweep failed"),
        }
    }
}

/// Deletes the expired threads; returns how many.
pub async fn sweep(services: &Services) -> Result<usize, crate::store::Error> {
    let mut deleted = 0;
    for id in services.store.expiring_threads()? {
        let now = Utc::now();
        let before = services
            .store
            .write_threads::<_, crate::store::Error>(|tx| {
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
            crate::ws::fanout::thread_deleted(services, &thread, None, None);
            deleted += 1;
        }
    }
    Ok(deleted)
}
