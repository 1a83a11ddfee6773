//! The shared services every connection and handler works with.

use crate::datasets::{Datasets, QueryLimits};
use crate::events::{Bus, Event};
use crate::hub::Hub;
use crate::llm::embeddings::RemoteEmbedder;
use crate::runs::{Analyses, AnalysisLimits};
use crate::search::{Embedder, HashedNgrams, Search, DEFAULT_DIM};
use crate::store::Store;
use std::time::Duration;

/// Run-time settings of the connection layer.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often the server pings each connection.
    pub ping_interval: Duration,
    /// How long a connection may stay silent (no pong, no frame) before it is closed.
    pub pong_timeout: Duration,
    /// Outbound frames a connection may have waiting before it is closed as too slow.
    pub send_queue: usize,
    /// How often threads whose TTL ran out are looked for.
    pub ttl_sweep: Duration,
    /// Time limit and row cap of dataset queries.
    pub query_limits: QueryLimits,
    /// An OpenAI-compatible model for questions the built-in analyst cannot plan.
    pub llm: Option<crate::llm::LlmConfig>,
    /// An OpenAI-compatible embeddings API for search, instead of the built-in embedder.
    pub embed: Option<crate::llm::embeddings::EmbedConfig>,
    /// How many analyses may run at once, per user and in total.
    pub analysis_limits: AnalysisLimits,
    /// Requests one WebSocket connection may have running at once.
    pub requests_per_connection: usize,
    /// A shared secret a Prometheus scraper may send instead of an admin's token.
    pub metrics_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ping_interval: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(30),
            send_queue: 1024,
            ttl_sweep: Duration::from_secs(60),
            query_limits: QueryLimits::default(),
            llm: None,
            embed: None,
            analysis_limits: AnalysisLimits::default(),
            requests_per_connection: 8,
            metrics_token: None,
        }
    }
}

pub struct Services {
    pub store: Store,
    pub hub: Hub,
    pub datasets: Datasets,
    pub search: std::sync::Arc<Search>,
    pub llm: Option<std::sync::Arc<crate::llm::LlmClient>>,
    /// Threads the analyst is working on.
    pub runs: std::sync::Arc<crate::runs::Runs>,
    /// The analyst's running tasks and their bounds.
    pub analyses: std::sync::Arc<Analyses>,
    /// Where the threads core publishes what happened; faces subscribe.
    pub events: Bus,
    pub settings: Settings,
    /// The store's write sequence when the server started: the search index covers it before
    /// the server calls itself ready (`/readyz`).
    pub started_seq: u64,
}

impl Services {
    pub async fn new(
        store: Store,
        data_dir: &std::path::Path,
        datasets_dir: &std::path::Path,
        settings: Settings,
    ) -> Result<Services, Box<dyn std::error::Error + Send + Sync>> {
        let embedder: std::sync::Arc<dyn Embedder> = match &settings.embed {
            Some(config) => std::sync::Arc::new(RemoteEmbedder::new(config.clone())?),
            None => std::sync::Arc::new(HashedNgrams::new(DEFAULT_DIM)),
        };
        let search = Search::open(store.clone(), Some(data_dir), embedder).await?;
        let llm = match &settings.llm {
            Some(config) => Some(std::sync::Arc::new(crate::llm::LlmClient::new(
                config.clone(),
            )?)),
            None => None,
        };
        Ok(Services {
            started_seq: store.last_seq().await?,
            llm,
            runs: Default::default(),
            analyses: Analyses::new(settings.analysis_limits),
            events: Bus::default(),
            search: std::sync::Arc::new(search),
            datasets: Datasets::new(store.clone(), datasets_dir, settings.query_limits),
            store,
            hub: Hub::new(settings.send_queue),
            settings,
        })
    }

    /// Tells every subscribed face what happened.
    pub fn publish(&self, event: Event) {
        self.stop_runs(&event);
        self.events.publish(event);
    }

    /// Delivers an event another node published (see `cluster`) to this node's subscribers.
    pub fn deliver_remote(&self, event: Event) {
        self.stop_runs(&event);
        self.events.deliver_here(&event);
    }

    /// The analyses of a thread stop when a user cancels them, wherever they run, and when it
    /// is deleted: nobody can see what they would write.
    fn stop_runs(&self, event: &Event) {
        match event {
            Event::ThreadDeleted { thread, .. } => self.runs.cancel_here(thread.id),
            Event::RunsCancelled { thread_id, .. } => self.runs.cancel_here(*thread_id),
            _ => {}
        }
    }

    /// Waits until what was published so far has been sent to everyone it concerns (see
    /// `events::Bus::settled`).
    pub async fn settled(&self) {
        self.events.settled().await
    }
}
