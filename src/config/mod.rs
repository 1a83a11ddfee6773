//! Command line and environment: subcommands, flags, the data directory.

mod bench;
mod bus;

pub use bench::{AnchorKind, BenchCommand};
pub use bus::BusFlags;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "skein",
    version,
    about = "Self-hosted threads server for AI data-analyst chat"
)]
pub struct Cli {
    /// Where Skein keeps its data.
    #[arg(
        long,
        env = "SKEIN_DATA_DIR",
        default_value = "skein-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Keep threads, accounts and datasets' registrations in PostgreSQL
    /// (`postgres://user:password@host/db`) instead of the data dir, so several nodes can share
    /// them. The data dir still holds this node's own: its search index, id and imported files.
    #[arg(long, env = "SKEIN_DATABASE", global = true, value_parser = database_url)]
    pub database: Option<String>,
    /// Where imported datasets' SQLite files are kept (default: `datasets/` in the data dir).
    /// Nodes sharing a database point this at one directory they all read.
    #[arg(long, env = "SKEIN_DATASETS_DIR", global = true)]
    pub datasets_dir: Option<PathBuf>,
    /// How log lines are written to stderr: for people, or one JSON object per line for log
    /// shippers.
    #[arg(
        long,
        env = "SKEIN_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Where a process keeps what: its own data dir, the shared database (if any), and imported
/// datasets' files.
#[derive(Debug, Clone)]
pub struct Places {
    pub data_dir: PathBuf,
    pub database: Option<String>,
    pub datasets_dir: PathBuf,
}

impl Cli {
    pub fn places(&self) -> Places {
        Places {
            data_dir: self.data_dir.clone(),
            database: self.database.clone(),
            datasets_dir: self
                .datasets_dir
                .clone()
                .unwrap_or_else(|| self.data_dir.join("datasets")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Manage users (works whether or not a server is running on the data dir).
    #[command(subcommand)]
    User(UserCommand),
    /// Tokens: list them, revoke one.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Connect Slack workspaces to organizations.
    #[command(subcommand)]
    Slack(SlackCommand),
    /// Manage datasets the analyst can query.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Write a consistent backup of the data dir to one file (while the server runs, through
    /// it; writes wait while the snapshot is read).
    Backup {
        /// The backup file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into --data-dir, which must be empty or absent; the search index is
    /// rebuilt when the server starts.
    Restore {
        /// The backup file to read.
        #[arg(long)]
        from: PathBuf,
    },
    /// Copy an embedded data dir (no server running on it) into PostgreSQL, checking every row;
    /// safe to run again.
    Migrate {
        /// The data dir to copy.
        #[arg(long)]
        from: PathBuf,
        /// The database to copy into: postgres://user:password@host:port/database.
        #[arg(long, value_parser = database_url)]
        to: String,
    },
    /// Write threads (with their messages and analyses) as JSON Lines, one thread per line.
    Export {
        /// Only `jsonl` for now.
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl"])]
        format: String,
        /// The file to write.
        #[arg(long)]
        to: PathBuf,
        /// Only this organization's threads (by name).
        #[arg(long)]
        org: Option<String>,
        /// Only threads this user (by email) owns or has a share of.
        #[arg(long)]
        user: Option<String>,
        /// Only threads changed on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
    },
    /// Import threads from a JSON Lines export; a thread already there is left as it is, and a
    /// bad line (reported by number) imports nothing.
    Import {
        /// The export file to read.
        #[arg(long)]
        from: PathBuf,
    },
    /// Rebuild the search index from the stored threads.
    Reindex,
    /// Benchmark search throughput and latency.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Measure search quality (nDCG@10, recall@10) on a test collection such as Cranfield.
    Eval {
        /// Folder with docs.jsonl, queries.jsonl and qrels.tsv.
        dir: PathBuf,
        /// Dimension of the built-in embedder's vectors.
        #[arg(long, default_value_t = crate::search::DEFAULT_DIM)]
        dim: usize,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SKEIN_ADDR", default_value = "127.0.0.1:7878")]
    pub addr: SocketAddr,
    /// On first start, do not add the sample sales dataset.
    #[arg(long)]
    pub no_sample: bool,
    /// A secret token a Prometheus scraper sends (as a bearer token) to read `/metrics`; an
    /// admin's token always works.
    #[arg(long, env = "SKEIN_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds between pings to each WebSocket client.
    #[arg(long, default_value_t = 15, hide = true)]
    pub ping_interval_secs: u64,
    /// Seconds a client may stay silent before it is disconnected.
    #[arg(long, default_value_t = 30, hide = true)]
    pub pong_timeout_secs: u64,
    /// Outbound messages a connection may have queued before it is closed as too slow.
    #[arg(long, default_value_t = 1024, hide = true)]
    pub send_queue: usize,
    /// Seconds between sweeps for threads whose TTL ran out.
    #[arg(long, default_value_t = 60, hide = true)]
    pub ttl_sweep_secs: u64,
    /// Seconds a dataset query may run before it is stopped.
    #[arg(long, default_value_t = 10, hide = true)]
    pub query_timeout_secs: u64,
    /// Base URL of an OpenAI-compatible API (e.g. http://127.0.0.1:11434/v1 for Ollama).
    #[arg(long, env = "SKEIN_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    /// Model name at that API.
    #[arg(long, env = "SKEIN_LLM_MODEL", requires = "llm_base_url")]
    pub llm_model: Option<String>,
    /// API key, if the API needs one (prefer the environment variable: arguments are visible to
    /// other local users).
    #[arg(long, env = "SKEIN_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// Seconds to wait for the model's first token.
    #[arg(long, default_value_t = 30)]
    pub llm_first_token_timeout_secs: u64,
    /// Seconds one model answer may take in all.
    #[arg(long, default_value_t = 120)]
    pub llm_total_timeout_secs: u64,
    /// Base URL of an OpenAI-compatible embeddings API for search (default: the built-in
    /// embedder, which needs no network).
    #[arg(long, env = "SKEIN_EMBED_BASE_URL", requires = "embed_model")]
    pub embed_base_url: Option<String>,
    /// Embedding model name at that API; vectors record it, and changing it re-embeds every
    /// message in the background.
    #[arg(long, env = "SKEIN_EMBED_MODEL", requires = "embed_base_url")]
    pub embed_model: Option<String>,
    /// API key of the embeddings API, if it needs one.
    #[arg(long, env = "SKEIN_EMBED_API_KEY", hide_env_values = true)]
    pub embed_api_key: Option<String>,
    /// Texts per embeddings request.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=2048))]
    pub embed_batch_size: u16,
    /// Questions one user may have the analyst answering at once; more get RATE_LIMITED.
    #[arg(long, env = "SKEIN_MAX_ANALYSES_PER_USER", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_analyses_per_user: u32,
    /// Questions the analyst may be answering at once on this server; more get RATE_LIMITED.
    #[arg(long, env = "SKEIN_MAX_ANALYSES", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_analyses: u32,
    /// HTTP connections served at once; more wait in the listen backlog.
    #[arg(long, default_value_t = 1024, hide = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// The Slack app's signing secret (its Basic Information page); with the bot token, makes
    /// this server the backend of a Slack AI app at POST /slack/events.
    #[arg(long, env = "SKEIN_SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<String>,
    /// The Slack app's bot token (xoxb-…).
    #[arg(long, env = "SKEIN_SLACK_BOT_TOKEN", hide_env_values = true)]
    pub slack_bot_token: Option<String>,
    /// Slack's Web API (tests point it at a local fake).
    #[arg(long, env = "SKEIN_SLACK_API_BASE_URL", default_value = crate::slack::DEFAULT_API_BASE)]
    pub slack_api_base_url: String,
    /// WebSocket connections open at once; more are refused with 429.
    #[arg(long, default_value_t = 10_000, hide = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_websockets: u32,
    /// Seconds a client has to send a request's headers.
    #[arg(long, default_value_t = 10, hide = true)]
    pub header_read_timeout_secs: u64,
    #[command(flatten)]
    pub bus: bus::BusFlags,
    /// Memory for the store's cache of pages (MiB). More keeps more threads in memory; the
    /// operating system's file cache serves what falls out of it.
    #[arg(long, env = "SKEIN_STORE_CACHE_MB", default_value_t = crate::store::DEFAULT_CACHE_MB, value_parser = clap::value_parser!(u64).range(1..))]
    pub store_cache_mb: u64,
    /// Requests one WebSocket connection may have running at once; more get RATE_LIMITED.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_requests_per_connection: u32,
}

impl ServeArgs {
    /// The Slack app's settings: both secrets, or neither.
    pub fn slack(&self) -> Result<Option<crate::slack::SlackConfig>, String> {
        match (&self.slack_signing_secret, &self.slack_bot_token) {
            (Some(secret), Some(token)) if !secret.is_empty() && !token.is_empty() => {
                Ok(Some(crate::slack::SlackConfig {
                    signing_secret: secret.clone(),
                    bot_token: token.clone(),
                    api_base: self.slack_api_base_url.clone(),
                }))
            }
            (None, None) => Ok(None),
            _ => Err("a Slack app needs both --slack-signing-secret and --slack-bot-token (or SKEIN_SLACK_SIGNING_SECRET and SKEIN_SLACK_BOT_TOKEN)".into()),
        }
    }

    pub fn connection_limits(&self) -> crate::listener::ConnectionLimits {
        crate::listener::ConnectionLimits {
            max_connections: self.max_connections as usize,
            max_websockets: self.max_websockets as usize,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
        }
    }

    pub fn settings(&self) -> crate::services::Settings {
        crate::services::Settings {
            ping_interval: Duration::from_secs(self.ping_interval_secs.max(1)),
            pong_timeout: Duration::from_secs(self.pong_timeout_secs.max(1)),
            send_queue: self.send_queue,
            ttl_sweep: Duration::from_secs(self.ttl_sweep_secs.max(1)),
            query_limits: crate::datasets::QueryLimits {
                time_limit: Duration::from_secs(self.query_timeout_secs.max(1)),
                ..Default::default()
            },
            llm: self
                .llm_base_url
                .as_ref()
                .map(|base_url| crate::llm::LlmConfig {
                    base_url: base_url.clone(),
                    model: self.llm_model.clone().unwrap_or_else(|| "default".into()),
                    api_key: self
                        .llm_api_key
                        .as_deref()
                        .and_then(crate::llm::ApiKey::new),
                    connect_timeout: Duration::from_secs(10),
                    first_token_timeout: Duration::from_secs(
                        self.llm_first_token_timeout_secs.max(1),
                    ),
                    total_timeout: Duration::from_secs(self.llm_total_timeout_secs.max(1)),
                    attempts: 3,
                }),
            embed: self.embed_base_url.as_ref().map(|base_url| {
                crate::llm::embeddings::EmbedConfig {
                    base_url: base_url.clone(),
                    model: self.embed_model.clone().unwrap_or_default(),
                    api_key: self
                        .embed_api_key
                        .as_deref()
                        .and_then(crate::llm::ApiKey::new),
                    batch_size: self.embed_batch_size as usize,
                    connect_timeout: Duration::from_secs(10),
                    request_timeout: Duration::from_secs(60),
                    attempts: 3,
                }
            }),
            analysis_limits: crate::runs::AnalysisLimits {
                per_user: self.max_analyses_per_user as usize,
                total: self.max_analyses as usize,
            },
            requests_per_connection: self.max_requests_per_connection as usize,
            metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print their token.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Make the user an admin of their organization.
        #[arg(long)]
        admin: bool,
        /// Organization (default: "Local").
        #[arg(long)]
        org: Option<String>,
    },
    /// List users.
    List,
    /// Issue a new token for an existing user (earlier tokens stay valid).
    Token {
        #[arg(long)]
        email: String,
    },
    /// Disable a user: their tokens stop working and their open WebSockets close (4401).
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List tokens by id (a token itself is shown only once, when issued).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a token by its id: it stops working, and its open WebSockets close (4401).
    Revoke {
        /// The token's id, as `skein token list` shows it (tok_…).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Import a CSV, or register a table of an existing SQLite file (opened read-only).
    Add {
        /// Dataset name; also its SQL table name for imported CSVs.
        name: String,
        /// CSV file to import (types are inferred; nothing is imported if a row is bad).
        #[arg(long, conflicts_with = "sqlite", required_unless_present = "sqlite")]
        csv: Option<PathBuf>,
        /// SQLite file holding the table.
        #[arg(long, requires = "table")]
        sqlite: Option<PathBuf>,
        /// Table of the SQLite file.
        #[arg(long, requires = "sqlite")]
        table: Option<String>,
        /// TOML file describing columns (meaning, synonyms, unit) and business terms.
        #[arg(long)]
        describe: Option<PathBuf>,
        /// Organization (default: "Local").
        #[arg(long)]
        org: Option<String>,
    },
    /// List datasets.
    List,
    /// Show a dataset's column notes (what the analyst reads), row count and example questions.
    Describe {
        /// Dataset name, table name or id.
        dataset: String,
        /// Organization (default: "Local").
        #[arg(long)]
        org: Option<String>,
    },
    /// Replace an imported dataset's rows with a CSV; columns that stay keep their type and
    /// notes, and nothing changes unless every row imports.
    Replace {
        /// Dataset name, table name or id.
        dataset: String,
        #[arg(long)]
        csv: PathBuf,
        /// Organization (default: "Local").
        #[arg(long)]
        org: Option<String>,
    },
    /// Remove a dataset (answers already given keep their words, SQL and rows).
    Remove {
        /// Dataset name, table name or id.
        dataset: String,
        /// Organization (default: "Local").
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization.
    Add { name: String },
    /// List organizations.
    List,
}

#[derive(Debug, Subcommand)]
pub enum SlackCommand {
    /// Answer a Slack workspace's assistant threads in an organization (its users become
    /// users of that org on first contact).
    Link {
        /// The workspace's team id (T…).
        #[arg(long)]
        team: String,
        /// The organization's name or id.
        #[arg(long)]
        org: String,
    },
}

/// A PostgreSQL connection URL; anything else is refused before starting.
fn database_url(text: &str) -> Result<String, String> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_string())
    } else {
        Err("expected a PostgreSQL URL: postgres://user:password@host:port/database".into())
    }
}
