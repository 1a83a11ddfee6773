//! The analyst's runs as the server keeps account of them: which threads it is working on
//! (the REST API reports them `busy` and refuses state writes meanwhile), how many runs may
//! go at once (per user and in total), and the tracker and stop signal that let shutdown
//! cancel them and wait for them. Starting a run is `threads::analyses`.

use crate::error::{Code, Error, Result};
use crate::model::User;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// The threads the analyst is working on, counted (a thread can have two questions running),
/// each with the signal that cancels its runs at a user's request; on a cluster, also the
/// threads other nodes are working on, as their heartbeats say (see `cluster::presence`).
#[derive(Default)]
pub struct Runs {
    active: Mutex<HashMap<Uuid, (usize, CancellationToken)>>,
    /// Threads with runs on other nodes, by node.
    elsewhere: Mutex<HashMap<Uuid, HashSet<Uuid>>>,
    /// The threads with runs here changed (a cluster tells the other nodes).
    changed: Notify,
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
        if *count == 1 {
            self.changed.notify_one();
        }
        Run {
            runs: self.clone(),
            thread,
            cancel: cancel.clone(),
        }
    }

    /// Whether the analyst is working on `thread`, here or on another node.
    pub fn is_busy(&self, thread: Uuid) -> bool {
        self.active.lock().unwrap().contains_key(&thread)
            || (self.elsewhere.lock().unwrap().values()).any(|threads| threads.contains(&thread))
    }

    /// Cancels this node's runs on `thread` (a cancellation reaches the other nodes as an
    /// event, see `threads::analyses::cancel`).
    pub fn cancel_here(&self, thread: Uuid) {
        if let Some((_, cancel)) = self.active.lock().unwrap().get(&thread) {
            cancel.cancel();
        }
    }

    /// The threads with runs on this node.
    pub fn threads_here(&self) -> Vec<Uuid> {
        self.active.lock().unwrap().keys().copied().collect()
    }

    /// Resolves once the threads with runs here have changed since it last resolved.
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// What another node last said it runs; empty once it is gone.
    pub fn set_elsewhere(&self, node: Uuid, threads: Vec<Uuid>) {
        let mut elsewhere = self.elsewhere.lock().unwrap();
        if threads.is_empty() {
            elsewhere.remove(&node);
        } else {
            elsewhere.insert(node, threads.into_iter().collect());
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
                self.runs.changed.notify_one();
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
