//! Skein: a self-hosted threads server for AI data-analyst chat.
//!
//! One binary keeps conversation threads and messages in sled, speaks the threads WebSocket
//! protocol (`shared/seeds/000_*`): lists, thread state, live updates and presence, and answers
//! data questions over SQLite datasets with a built-in analyst that streams its steps.
//!
//! # Layout
//!
//! | module     | owns                                                                 |
//! |------------|----------------------------------------------------------------------|
//! | `config`   | command line flags, environment variables, the data directory        |
//! | `model`    | domain types: Org, User, Thread, Message, Share and their enums      |
//! | `store`    | sled trees, keys, record encoding, transactions, the write sequence  |
//! | `auth`     | tokens, accounts, and who may see or change a thread                 |
//! | `hub`      | channels, subscriptions, presence, bounded fan-out to connections    |
//! | `datasets` | SQLite-backed datasets: import, description, read-only queries       |
//! | `pipeline` | the `/threads/post` steps: planner, SQL, repairs, narratives          |
//! | `llm`      | OpenAI-compatible providers: a streamed chat model, embeddings       |
//! | `search`   | hybrid search: tantivy BM25, vectors, fusion, evaluation              |
//! | `bench`    | `skein bench`: search throughput in process and over WebSockets        |
//! | `ws`       | the wire envelope, the connection loop, one handler per route        |
//! | `http`     | warp filters: `/ws` with authentication, health, the embedded web UI |
//! | `rest`     | the LangGraph-compatible REST threads API, one file per endpoint      |
//! | `runs`     | which threads the analyst is working on (REST `status: busy`)         |
//! | `admin`    | account commands, run directly or through a running server's socket  |
//! | `services` | the shared services handed to connections and handlers              |
//! | `server`   | start-up, serving, graceful shutdown                                  |
//! | `cli`      | the `skein` subcommands                                               |
//! | `limits`   | protocol limits (frame, prompt and title sizes)                       |
//!
//! Dependencies point one way: `ws` and `http` use `hub`, `auth`, `pipeline`, `datasets` and
//! `store`; `pipeline` reports steps through a sink that `ws` implements, so it never sees the
//! wire format; `store` knows nothing of it either, and `hub` only moves serialized text.

pub mod admin;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod datasets;
pub mod error;
pub mod http;
pub mod hub;
pub mod limits;
pub mod llm;
pub mod model;
pub mod pipeline;
pub mod rest;
pub mod runs;
pub mod search;
pub mod server;
pub mod services;
pub mod store;
pub mod threads;
pub mod ws;
