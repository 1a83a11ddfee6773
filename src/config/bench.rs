//! `skein bench …`: the benchmarks' flags.

use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// In process: index a generated corpus, then query each leg from several threads.
    Search {
        /// Test collection whose texts make the corpus and whose queries are asked.
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = crate::search::DEFAULT_DIM)]
        dim: usize,
        /// The legs to query (default: all): tantivy, bm25, kernel, vector, hybrid.
        #[arg(long, value_delimiter = ',')]
        legs: Vec<String>,
        /// Print one JSON object (for scripts) instead of lines for people.
        #[arg(long)]
        json: bool,
    },
    /// Add a generated corpus to the data dir, as threads of the first admin of "Local".
    Seed {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
    },
    /// One thread growing to many answers through a real server (started on a temporary data
    /// dir): post → final state latency and the thread state's size; then another client's
    /// renames, alone and beside a client reading that thread's state again and again.
    Thread {
        #[arg(long, default_value_t = 100)]
        answers: usize,
        /// The server binary to measure (default: this one), to compare builds side by side.
        #[arg(long)]
        server: Option<PathBuf>,
        /// Print one JSON object (for scripts) instead of lines for people.
        #[arg(long)]
        json: bool,
    },
    /// A server's resident memory per idle WebSocket (a server started on a temporary data
    /// dir, as for `thread`).
    Idle {
        #[arg(long, default_value_t = 2000)]
        connections: usize,
        /// The server binary to measure (default: this one), to compare builds side by side.
        #[arg(long)]
        server: Option<PathBuf>,
        /// Print one JSON object (for scripts) instead of lines for people.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledged writes per second through a server (started as for `thread`), each count
    /// of clients next to the disk's own fdatasync rate from as many writers, a trivial
    /// durable server and a blocking echo, the four in turn.
    Writes {
        /// Counts of clients, one run each.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32])]
        clients: Vec<usize>,
        /// How long each side writes in a round.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// Rounds in which Skein, the disk and the two echoes take turns.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The server binary to measure (default: this one), to compare builds side by side.
        #[arg(long)]
        server: Option<PathBuf>,
        /// Print one JSON object (for scripts) instead of lines for people.
        #[arg(long)]
        json: bool,
    },
    /// Print the generated corpus as JSON Lines (for peers benchmarked on the same texts).
    Corpus {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
    },
    /// Deliveries per second from one thread to many watchers (a server started as for
    /// `thread`), next to a trivial broadcast server in the same run, the two in turn.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        watchers: usize,
        /// Events per round.
        #[arg(long, default_value_t = 300)]
        events: usize,
        /// Rounds of each server; the ratio is the median of the rounds'.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Connections publishing at once, each waiting for its event's acknowledgement
        /// before its next; the round's events are dealt among them.
        #[arg(long, default_value_t = 1)]
        publishers: usize,
        /// The server binary to measure (default: this one), to compare builds side by side.
        #[arg(long)]
        server: Option<PathBuf>,
        /// Print one JSON object (for scripts) instead of lines for people.
        #[arg(long)]
        json: bool,
    },
    /// One of the benchmarks' trivial anchor servers, in a process of its own as Skein's server
    /// is (`writes` and `fanout` start it): prints its URL, serves until its input closes.
    #[command(hide = true)]
    Anchor {
        #[arg(value_enum)]
        kind: AnchorKind,
        /// The size of the frames it sends.
        #[arg(long)]
        frame_bytes: usize,
        /// Where the echoes write their files.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Load generator: WebSocket clients sending /threads/search to a running server.
    Ws {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, env = "SKEIN_ADDR", default_value = "127.0.0.1:7878")]
        addr: String,
        #[arg(long, env = "SKEIN_TOKEN")]
        token: String,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

/// The benchmarks' trivial anchor servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnchorKind {
    /// `fanout`'s: one pre-encoded frame to every watcher per published message.
    Broadcast,
    /// `writes`'s: each request written and `fdatasync`ed, then answered.
    DurableEcho,
    /// `writes`'s floor: the same over plain TCP, a thread per connection (see
    /// `bench::blocking_echo`).
    BlockingEcho,
}
