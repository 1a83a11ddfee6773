//! The analyst's runs as the server keeps account of them: which threads it is working on
//! (the REST API reports them `busy` and refuses state writes meanwhile), how many runs may
//! go at once (per user and in total), and the tracker and stop signal that let shutdown
//! cancel them and wait for them. Starting a run is `threads::analyses`.

use crate::error::{Code, Error, Result};
use crate::model::User;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// The threads the analyst is working on, counted (a thread can have two questions running),
/// each with the signal that cancels its runs at a user's request.
#[derive(Default)]
pub struct Runs {
    active: Mutex<HashMap<Uuid, (usize, CancellationToken)>>,
}

/// A run in progress; dropping it ends the run.
pub struct Run {
    runs: Arc<Runs>,
    thread: Uuid,
    cancel: CancellationToken,
}

impl Runs {
    pub fn start(self: &Arc<Self>, thread: Uuid) -> Run {
        let mut active = self.active.lock().unwrap();
        let (count, cancel) = active.entry(thread).or_default();
        if cancel.is_cancelled() {
            // Cancelling stopped the runs before this one, not this one.
            *cancel = CancellationToken::new();
        }
        *count += 1;
        Run {
            runs: self.clone(),
            thread,
            cancel: cancel.clone(),
        }
    }

    pub fn is_busy(&self, thread: Uuid) -> bool {
        self.active.lock().unwrap().contains_key(&thread)
    }

    /// Cancels the runs on `thread`; returns whether there were any.
    pub fn cancel(&self, thread: Uuid) -> bool {
        match self.active.lock().unwrap().get(&thread) {
            Some((_, cancel)) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }
}

impl Run {
    /// Fires when a user cancels the runs on this thread.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let mut active = self.runs.active.lock().unwrap();
        if let Some((count, _)) = active.get_mut(&self.thread) {
            *count -= 1;
            if *count == 0 {
                active.remove(&self.thread);
            }
        }
    }
}

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

/// The analyst's running tasks: how many there are per user and in total, the tracker that
/// owns them, and the signal that stops them (and the server's background tasks) on shutdown.
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

    /// Spawns a run in the tracker; `work` gets the stop signal.
    pub fn spawn<F>(&self, work: impl FnOnce(CancellationToken) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(work(self.stop.clone()));
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
