//! The analyst's runs, owned by the server: bounded per user and in total, tracked, and
//! cancelled on shutdown, when the message each was answering is marked interrupted.

use super::events::Event;
use crate::error::{Code, Error, Result};
use crate::model::User;
use crate::pipeline::{self, Job, StepSink, StepUpdate};
use crate::services::Services;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// How many analyses may run at once.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisLimits {
    pub per_user: usize,
    pub total: usize,
}

impl Default for AnalysisLimits {
    fn default() -> Self {
        AnalysisLimits {
            per_user: 16,
            total: 64,
        }
    }
}

pub struct Analyses {
    limits: AnalysisLimits,
    running: Mutex<Running>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

#[derive(Default)]
struct Running {
    total: usize,
    per_user: HashMap<Uuid, usize>,
}

/// A place among the running analyses, held from before the question is stored until its
/// analysis ends; dropping it frees the place.
pub struct Slot {
    analyses: Arc<Analyses>,
    user: Uuid,
}

impl Analyses {
    pub fn new(limits: AnalysisLimits) -> Arc<Analyses> {
        Arc::new(Analyses {
            limits,
            running: Default::default(),
            tracker: TaskTracker::new(),
            stop: CancellationToken::new(),
        })
    }

    /// A place for one more analysis by `user`, or `RATE_LIMITED` if the bounds are reached.
    pub fn reserve(self: &Arc<Self>, user: &User) -> Result<Slot> {
        if self.stop.is_cancelled() {
            return Err(Error::new(
                Code::ShuttingDown,
                "the server is shutting down; ask again once it is back",
            ));
        }
        let mut running = self.running.lock().unwrap();
        let mine = running.per_user.get(&user.id).copied().unwrap_or(0);
        if mine >= self.limits.per_user {
            return Err(Error::new(
                Code::RateLimited,
                format!(
                    "you have {mine} questions being answered; the limit is {}; ask again when one is done",
                    self.limits.per_user
                ),
            ));
        }
        if running.total >= self.limits.total {
            return Err(Error::new(
                Code::RateLimited,
                format!(
                    "the server is answering {} questions, its limit; ask again in a moment",
                    running.total
                ),
            ));
        }
        running.total += 1;
        *running.per_user.entry(user.id).or_default() += 1;
        Ok(Slot {
            analyses: self.clone(),
            user: user.id,
        })
    }

    /// Runs the analyst on a stored message in a tracked task; `run` keeps its thread busy.
    pub fn start(&self, services: Arc<Services>, slot: Slot, run: crate::runs::Run, job: Job) {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            let sink = Broadcast {
                services: &services,
                user: &job.user,
            };
            let llm = services.llm.as_deref();
            let stored =
                pipeline::run(&services.store, &services.datasets, llm, &job, &sink, &stop).await;
            drop(run);
            drop(slot);
            match stored {
                Ok(Some(thread)) => services.publish(Event::AnalysisFinished {
                    thread,
                    by: job.user.clone(),
                }),
                Ok(None) => {
                    tracing::debug!(thread = %job.thread_id, "thread deleted during analysis")
                }
                Err(err) => tracing::error!(error = %err, "could not store the analysis"),
            }
        });
    }

    /// The token background tasks watch to stop.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Cancels running analyses (each marks its message interrupted) and waits up to `grace`
    /// for them to finish writing.
    pub async fn shut_down(&self, grace: Duration) {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.tracker.len(),
                "analyses still running after the shutdown grace; their messages are marked interrupted at the next start"
            );
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.analyses.running.lock().unwrap();
        running.total -= 1;
        if let Some(count) = running.per_user.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                running.per_user.remove(&self.user);
            }
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
    let pending = services.store.pending_analyses()?;
    for (thread_id, message_id) in &pending {
        pipeline::persist::interrupted(&services.store, *thread_id, *message_id).await?;
    }
    Ok(pending.len())
}
