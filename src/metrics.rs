//! What the server counts for Prometheus (`GET /metrics`, text format, via the `prometheus`
//! crate). One process-wide set, as Prometheus clients keep it: the places that count reach it
//! without anything threaded through, so this module depends on none of ours. Gauges of state
//! the server already holds (subscriptions, the index's lag) are given when scraped.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use std::sync::LazyLock;

pub struct Metrics {
    registry: Registry,
    pub connections: IntGauge,
    pub frames_sent: IntCounter,
    pub frames_dropped: IntCounter,
    pub slow_client_closes: IntCounter,
    pub requests: IntCounterVec,
    pub errors: IntCounterVec,
    pub analysis_step_seconds: HistogramVec,
    pub llm_calls: IntCounterVec,
    pub llm_tokens: IntCounterVec,
    pub search_seconds: HistogramVec,
    pub store_flush_seconds: Histogram,
    pub ttl_deletions: IntCounter,
    thread_subscriptions: IntGauge,
    list_subscriptions: IntGauge,
    store_seq: IntGauge,
    index_covered_seq: IntGauge,
    index_lag: IntGauge,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Seconds, from a millisecond to a minute.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 60.0,
];

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new_custom(Some("skein".into()), None).expect("a valid prefix");
        fn add<T: prometheus::core::Collector + Clone + 'static>(
            registry: &Registry,
            metric: T,
        ) -> T {
            registry
                .register(Box::new(metric.clone()))
                .expect("metric names are unique");
            metric
        }
        let gauge =
            |name: &str, help: &str| add(&registry, IntGauge::new(name, help).expect("valid"));
        let counter =
            |name: &str, help: &str| add(&registry, IntCounter::new(name, help).expect("valid"));
        let counters = |name: &str, help: &str, labels: &[&str]| {
            add(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid"),
            )
        };
        let histograms = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(BUCKETS.to_vec());
            add(&registry, HistogramVec::new(opts, labels).expect("valid"))
        };
        Metrics {
            connections: gauge("websocket_connections", "WebSocket connections open"),
            frames_sent: counter(
                "messages_sent_total",
                "server messages queued to connections",
            ),
            frames_dropped: counter(
                "messages_dropped_total",
                "server messages not delivered: the connection was closing or its queue full",
            ),
            slow_client_closes: counter(
                "slow_client_closes_total",
                "connections closed because their send queue overflowed",
            ),
            requests: counters(
                "requests_total",
                "requests by face and route",
                &["face", "route"],
            ),
            errors: counters(
                "errors_total",
                "failed requests by face, route and machine code",
                &["face", "route", "code"],
            ),
            analysis_step_seconds: histograms(
                "analysis_step_seconds",
                "time of each analysis step, by step and outcome",
                &["step", "outcome"],
            ),
            llm_calls: counters(
                "llm_calls_total",
                "calls to the language model by outcome (ok, or the error's kind)",
                &["outcome"],
            ),
            llm_tokens: counters(
                "llm_tokens_total",
                "tokens the language model reported using, by kind (prompt, completion)",
                &["kind"],
            ),
            search_seconds: histograms("search_seconds", "search latency by leg", &["leg"]),
            store_flush_seconds: add(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "store_flush_seconds",
                        "time to make a write durable: sled's sync, or PostgreSQL's commit",
                    )
                    .buckets(BUCKETS.to_vec()),
                )
                .expect("valid"),
            ),
            ttl_deletions: counter(
                "ttl_deletions_total",
                "threads deleted when their TTL ran out",
            ),
            thread_subscriptions: gauge(
                "thread_subscriptions",
                "connections subscribed to threads",
            ),
            list_subscriptions: gauge("list_subscriptions", "connections subscribed to lists"),
            store_seq: gauge("store_sequence", "the store's latest write sequence"),
            index_covered_seq: gauge(
                "index_covered_sequence",
                "the write sequence the search index covers",
            ),
            index_lag: gauge(
                "index_lag",
                "thread changes the search index has not covered yet",
            ),
            registry,
        }
    }

    /// The text exposition, with the gauges of `now`.
    pub fn render(&self, now: &Scrape) -> String {
        self.thread_subscriptions
            .set(now.thread_subscriptions as i64);
        self.list_subscriptions.set(now.list_subscriptions as i64);
        self.store_seq.set(now.store_seq as i64);
        self.index_covered_seq.set(now.covered_seq as i64);
        self.index_lag.set(now.index_lag as i64);
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("text encoding cannot fail");
        String::from_utf8(text).expect("the text format is UTF-8")
    }
}

/// State the server holds, read when scraped.
pub struct Scrape {
    pub thread_subscriptions: usize,
    pub list_subscriptions: usize,
    pub store_seq: u64,
    pub covered_seq: u64,
    /// Thread changes the index has not covered yet.
    pub index_lag: u64,
}
