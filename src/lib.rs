//! Skein: a self-hosted threads server for AI data-analyst chat.
//!
//! One binary keeps conversation threads and messages in sled (or in PostgreSQL, shared by
//! nodes), speaks the threads WebSocket protocol (`shared/seeds/000_*`): lists, thread state,
//! live updates and presence, and answers data questions over SQLite datasets with a built-in
//! analyst that streams its steps.
//!
//! # Layout
//!
//! | module     | owns                                                                 |
//! |------------|----------------------------------------------------------------------|
//! | `threads`  | the rules of a thread, whatever interface asks: access, posting,     |
//! |            | updating, deleting, creating, state writes; starting the analyst     |
//! | `error`    | the one table of errors: machine code, HTTP status, WebSocket code   |
//! | `events`   | typed events of the core (threads, messages, steps, presence), a bus |
//! | `ws`       | face: the threads WebSocket protocol (seed 000), one file per route  |
//! | `rest`     | face: the LangGraph-compatible REST threads API, one file per route  |
//! | `freddy`   | face: Aitronos Freddy's `/v1/threads` API (seed 003), one file per   |
//! |            | route                                                                |
//! | `slack`    | face: Slack assistant threads (seed 001): events in, answers out     |
//! | `request_body` | reading a REST request's body under the size limit               |
//! | `http`     | warp filters: `/ws` with authentication, health, the embedded web UI |
//! | `health`   | liveness (`/healthz`) and readiness (`/readyz`)                      |
//! | `metrics`  | the Prometheus counters, gauges and histograms (`/metrics`)          |
//! | `pipeline` | the analyst's steps: planner, SQL, repairs, narratives               |
//! | `datasets` | SQLite-backed datasets: import, description, read-only queries       |
//! | `search`   | hybrid search: tantivy BM25, vectors, fusion, evaluation             |
//! | `llm`      | OpenAI-compatible providers: a streamed chat model, embeddings       |
//! | `store`    | the storage interface: transactions, records, the change sequence;   |
//! |            | sled (embedded) and PostgreSQL (shared by nodes) behind it           |
//! | `model`    | domain types: Org, User, Thread, Message, Share and their enums      |
//! | `auth`     | tokens, accounts, the request's token, and the access roles          |
//! | `hub`      | channels, subscriptions, presence, bounded fan-out to connections    |
//! | `outbox`   | one connection's writes: encoded frames, their queue, pings, close   |
//! | `runs`     | the analyst's runs: busy threads, bounds, tracking, stop on shutdown |
//! | `services` | the shared services handed to faces and operations; the event bus    |
//! | `admin`    | account commands, run directly or through a running server's socket  |
//! | `backup`   | `skein backup` / `restore`: one checked file of everything durable   |
//! | `export`   | `skein export` / `import`: threads as JSON Lines, one per line       |
//! | `cluster`  | several nodes as one: events and presence over NATS                   |
//! | `server`   | start-up, serving, graceful shutdown                                  |
//! | `listener` | accepting connections: a cap, a header timeout, accept-error backoff  |
//! | `cli`      | the `skein` subcommands and their exit statuses                      |
//! | `bench`    | `skein bench`: search, writes, fan-out, idle sockets, a long thread, |
//! |            | each beside an anchor measured in the same run                       |
//! | `config`   | command line flags, environment variables, the data directory        |
//! | `limits`   | protocol limits (frame, prompt and title sizes)                       |
//! | `workers`  | waking an idle runtime worker before a read holds another             |
//!
//! # How a request flows
//!
//! A face parses its wire format and calls one operation of `threads` with the services, the
//! acting user and a typed request. The operation checks access (`threads::access`), applies
//! the rules, writes through `store` in one transaction (acknowledged once on disk), and
//! publishes what happened as an `events::Event` on the services' bus. The face
//! answers its own client from the operation's result, or renders the `error::Error`; the
//! WebSocket face's event renderer (`ws::fanout::Renderer`) turns events into broadcasts for
//! everyone else watching. Posting a question also starts the analyst: `pipeline` runs in a
//! task owned by `threads::analyses`, and its steps go out as `AnalysisStep` events.
//!
//! Dependencies point one way: faces use `threads`; `threads` uses `store`, `pipeline`,
//! `datasets` and `auth`, never a face; `pipeline` reports steps through a sink, so it never
//! sees a wire format; `store` knows nothing of either, and `hub` only moves encoded frames.

pub mod admin;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod datasets;
pub mod error;
pub mod events;
pub mod export;
pub mod freddy;
#[cfg(test)]
mod fuzz;
pub mod health;
pub mod http;
pub mod hub;
pub mod limits;
pub mod listener;
pub mod llm;
pub mod metrics;
pub mod model;
pub mod outbox;
pub mod pipeline;
pub mod request_body;
pub mod rest;
pub mod runs;
pub mod search;
pub mod server;
pub mod services;
pub mod slack;
pub mod store;
pub mod threads;
pub mod workers;
pub mod ws;
