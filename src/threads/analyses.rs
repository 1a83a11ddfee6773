//! Starting the analyst on a posted question, and marking the questions a stopped server
//! never finished answering. The bookkeeping of runs (bounds, tracking, stop) is `crate::runs`.

use crate::events::Event;
use crate::model::User;
use crate::pipeline::{self, Job, StepSink, StepUpdate};
use crate::runs::{Run, Slot};
use crate::services::Services;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs the analyst on a stored message in a task the server tracks; `slot` holds its place
/// among the running analyses and `run` keeps its thread busy until it ends.
pub fn start(services: Arc<Services>, slot: Slot, run: Run, job: Job) {
    let analyses = services.analyses.clone();
    analyses.spawn(move |stop| async move {
        let sink = Broadcast {
            services: &services,
            user: &job.user,
        };
        let llm = services.llm.as_deref();
        let cancel = run.cancelled();
        let stored = pipeline::run(
            &services.store,
            &services.datasets,
            llm,
            &job,
            &sink,
            &stop,
            &cancel,
        )
        .await;
        drop(run);
        drop(slot);
        match stored {
            Ok(Some(thread)) => services.publish(Event::AnalysisFinished {
                thread,
                message_id: job.message_id,
                by: job.user.clone(),
            }),
            Ok(None) => {
                tracing::debug!(thread = %job.thread_id, "thread deleted during analysis")
            }
            Err(err) => {
                tracing::error!(error = %err, "could not store the analysis; it will be marked interrupted once storage takes writes");
                mark_unstored(&services, &job, &stop).await;
            }
        }
    });
}

/// Cancels the analyst's runs on thread `id`, on whichever node they run (each marks its
/// message cancelled and its watchers get the final state); owners, editors and org admins
/// may. Returns whether one was running.
pub async fn cancel(
    services: &Services,
    user: &User,
    id: uuid::Uuid,
) -> crate::error::Result<bool> {
    crate::threads::access::thread(
        &services.store,
        user,
        id,
        crate::threads::access::Right::Edit,
    )
    .await?;
    let busy = services.runs.is_busy(id);
    if busy {
        services.publish(Event::RunsCancelled {
            thread_id: id,
            by: user.clone(),
        });
    }
    Ok(busy)
}

/// An analysis whose outcome could not be stored (a full disk) is marked interrupted as soon
/// as storage takes writes again, so the question does not stay unanswered until a restart.
/// If the server stops first, the next start marks it (`mark_interrupted`).
async fn mark_unstored(services: &Services, job: &Job, stop: &CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
        let marked =
            pipeline::persist::interrupted(&services.store, job.thread_id, job.message_id).await;
        if marked.is_ok() {
            if let Ok(Some(thread)) = services.store.thread(job.thread_id).await {
                services.publish(Event::AnalysisFinished {
                    thread,
                    message_id: job.message_id,
                    by: job.user.clone(),
                });
            }
            return;
        }
    }
}

/// Publishes each step of a run on the bus.
struct Broadcast<'a> {
    services: &'a Services,
    user: &'a User,
}

impl StepSink for Broadcast<'_> {
    fn emit(&self, update: &StepUpdate) {
        self.services.publish(Event::AnalysisStep {
            update: update.clone(),
            by: self.user.clone(),
        });
    }
}

/// Marks the messages whose analysis was cut off by a stop of the server (a crash, a kill, or
/// a shutdown that outlasted its grace) as interrupted. Run at start, before serving.
pub async fn mark_interrupted(
    services: &Services,
) -> std::result::Result<usize, crate::store::Error> {
    let pending = services.store.pending_analyses().await?;
    for (thread_id, message_id) in &pending {
        pipeline::persist::interrupted(&services.store, *thread_id, *message_id).await?;
    }
    Ok(pending.len())
}

/// On a cluster, marks the analyses a node that died was running as interrupted, and tells
/// their watchers, so the questions do not hang unanswered until a node restarts. Returns how
/// many it marked.
pub async fn interrupt_orphans(
    services: &Services,
) -> std::result::Result<usize, crate::store::Error> {
    let mut marked = 0;
    for (thread_id, message_id) in services.store.orphaned_analyses().await? {
        let Some(asker) =
            pipeline::persist::interrupted(&services.store, thread_id, message_id).await?
        else {
            continue;
        };
        marked += 1;
        let (Some(thread), Some(by)) = (
            services.store.thread(thread_id).await?,
            services.store.user(asker).await?,
        ) else {
            continue;
        };
        services.publish(Event::AnalysisFinished {
            thread,
            message_id,
            by,
        });
    }
    Ok(marked)
}
