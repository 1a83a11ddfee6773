//! The threads WebSocket protocol (seed 000): envelope, connection loop, one handler per route.
//!
//! - `envelope`: request parsing, server messages, the error envelope.
//! - `upgrade`: the WebSocket handshake, with tungstenite's buffers sized for small requests.
//! - `connection`: the per-socket loop: reading, writing, pings, closing.
//! - `views`: the seed's JSON shapes of threads, messages, list items and presence.
//! - `fanout`: broadcasts shared by several routes (thread changed, joined, left).
//! - one file per route: `list`, `get`, `post`, `update`, `delete`, `unsubscribe`, `search`,
//!   `data` (an answer's rows a page at a time), `message`, `users_me`, `analyst_steps` (the
//!   steps an analysis goes through, for progress lists), and the datasets' `datasets_list`,
//!   `datasets_get`, `datasets_preview`, `datasets_add`, `datasets_update`, `datasets_replace`,
//!   `datasets_remove` (members read; org admins manage), shaped by `dataset_views`.
//!
//! A request's own answer goes to the requesting connection with its `request_id`; what other
//! connections see of the same change goes out as broadcasts under the channel's route
//! (`/threads/get` for a thread channel, `/threads/list` for list channels).

mod analyst_steps;
mod connection;
mod data;
mod dataset_views;
mod datasets_add;
mod datasets_get;
mod datasets_list;
mod datasets_preview;
mod datasets_remove;
mod datasets_replace;
mod datasets_update;
#[cfg(test)]
mod decoder_fuzz;
mod delete;
mod envelope;
pub mod fanout;
mod get;
mod list;
mod message;
mod post;
mod search;
mod stream;
mod unsubscribe;
mod update;
mod upgrade;
mod users_me;
mod views;

pub use connection::serve_connection;
pub use upgrade::{handshake, Handshake, NotAnUpgrade};

use crate::error::Error;
use crate::hub::ConnId;
use crate::model::User;
use crate::services::Services;
use envelope::Outgoing;
use serde_json::Value;
use std::sync::Arc;

/// The routes of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    List,
    Get,
    Post,
    Update,
    Delete,
    Unsubscribe,
    Search,
    Data,
    Message,
    DatasetsList,
    DatasetsGet,
    DatasetsPreview,
    DatasetsAdd,
    DatasetsUpdate,
    DatasetsReplace,
    DatasetsRemove,
    UsersMe,
    AnalystSteps,
}

impl Route {
    pub fn parse(route: &str) -> Option<Route> {
        Some(match route {
            "/threads/list" => Route::List,
            "/threads/get" => Route::Get,
            "/threads/post" => Route::Post,
            "/threads/update" => Route::Update,
            "/threads/delete" => Route::Delete,
            "/threads/unsubscribe" => Route::Unsubscribe,
            "/threads/search" => Route::Search,
            "/threads/data" => Route::Data,
            "/threads/message" => Route::Message,
            "/datasets/list" => Route::DatasetsList,
            "/datasets/get" => Route::DatasetsGet,
            "/datasets/preview" => Route::DatasetsPreview,
            "/datasets/add" => Route::DatasetsAdd,
            "/datasets/update" => Route::DatasetsUpdate,
            "/datasets/replace" => Route::DatasetsReplace,
            "/datasets/remove" => Route::DatasetsRemove,
            "/users/me" => Route::UsersMe,
            "/analyst/steps" => Route::AnalystSteps,
            _ => return None,
        })
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::List => "/threads/list",
            Route::Get => "/threads/get",
            Route::Post => "/threads/post",
            Route::Update => "/threads/update",
            Route::Delete => "/threads/delete",
            Route::Unsubscribe => "/threads/unsubscribe",
            Route::Search => "/threads/search",
            Route::Data => "/threads/data",
            Route::Message => "/threads/message",
            Route::DatasetsList => "/datasets/list",
            Route::DatasetsGet => "/datasets/get",
            Route::DatasetsPreview => "/datasets/preview",
            Route::DatasetsAdd => "/datasets/add",
            Route::DatasetsUpdate => "/datasets/update",
            Route::DatasetsReplace => "/datasets/replace",
            Route::DatasetsRemove => "/datasets/remove",
            Route::UsersMe => "/users/me",
            Route::AnalystSteps => "/analyst/steps",
        }
    }

    /// Whether a request here is answered from what is stored, with no write to wait for
    /// (the connection wakes an idle worker before running it: see `workers`).
    pub fn only_reads(self) -> bool {
        match self {
            Route::List
            | Route::Get
            | Route::Search
            | Route::Data
            | Route::Message
            | Route::DatasetsList
            | Route::DatasetsGet
            | Route::DatasetsPreview
            | Route::UsersMe
            | Route::AnalystSteps => true,
            Route::Post
            | Route::Update
            | Route::Delete
            | Route::Unsubscribe
            | Route::DatasetsAdd
            | Route::DatasetsUpdate
            | Route::DatasetsReplace
            | Route::DatasetsRemove => false,
        }
    }

    /// The event a request on this route answers with, success or failure.
    pub fn reply_event(self) -> &'static str {
        match self {
            Route::List => "getThreadsList",
            Route::Get => "getThreadState",
            Route::Post => "initializeThread",
            Route::Update => "updateThreadState",
            Route::Delete => "deleteThreadState",
            Route::Unsubscribe => "unsubscribed",
            Route::Search => "searchThreads",
            Route::Data => "getThreadData",
            Route::Message => "getMessage",
            Route::DatasetsList => "getDatasetsList",
            Route::DatasetsGet => "getDataset",
            Route::DatasetsPreview => "previewDataset",
            Route::DatasetsAdd => "addDataset",
            Route::DatasetsUpdate => "updateDataset",
            Route::DatasetsReplace => "replaceDataset",
            Route::DatasetsRemove => "removeDataset",
            Route::UsersMe => "getCurrentUser",
            Route::AnalystSteps => "getAnalystSteps",
        }
    }
}

/// Everything a route handler knows about the request it serves.
pub struct Context<'a> {
    pub services: &'a Arc<Services>,
    pub conn: ConnId,
    pub user: &'a User,
    pub route: Route,
    pub request_id: Option<&'a Value>,
}

impl Context<'_> {
    /// Sends an event to the requesting connection, tagged with the request id.
    pub fn reply(&self, event: &str, payload: impl serde::Serialize) {
        let frame = Outgoing {
            route: self.route.path(),
            event,
            payload: &payload,
            error: None,
            sent_by: Some(self.user),
            request_id: self.request_id,
            // The seed marks the answer to an update as meant for the user who asked.
            send_back_to_user: self.route == Route::Update,
        }
        .to_frame();
        self.services.hub.send(self.conn, frame);
    }

    fn fail(&self, error: &Error) {
        let frame = Outgoing {
            route: self.route.path(),
            event: self.route.reply_event(),
            payload: &Value::Null,
            error: Some(error),
            sent_by: Some(self.user),
            request_id: self.request_id,
            send_back_to_user: false,
        }
        .to_frame();
        self.services.hub.send(self.conn, frame);
    }
}

/// Runs one request; every request gets an answer, an error envelope if it fails.
async fn dispatch(ctx: &Context<'_>, data: Value) {
    let metrics = &crate::metrics::METRICS;
    let route = ctx.route.path();
    metrics
        .requests
        .with_label_values(&["websocket", route])
        .inc();
    let result = match ctx.route {
        Route::List => list::handle(ctx, data).await,
        Route::Get => get::handle(ctx, data).await,
        Route::Post => post::handle(ctx, data).await,
        Route::Update => update::handle(ctx, data).await,
        Route::Delete => delete::handle(ctx, data).await,
        Route::Unsubscribe => unsubscribe::handle(ctx, data).await,
        Route::DatasetsList => datasets_list::handle(ctx, data).await,
        Route::DatasetsGet => datasets_get::handle(ctx, data).await,
        Route::DatasetsPreview => datasets_preview::handle(ctx, data).await,
        Route::DatasetsAdd => datasets_add::handle(ctx, data).await,
        Route::DatasetsUpdate => datasets_update::handle(ctx, data).await,
        Route::DatasetsReplace => datasets_replace::handle(ctx, data).await,
        Route::DatasetsRemove => datasets_remove::handle(ctx, data).await,
        Route::UsersMe => users_me::handle(ctx, data).await,
        Route::AnalystSteps => analyst_steps::handle(ctx, data).await,
        Route::Search => search::handle(ctx, data).await,
        Route::Data => data::handle(ctx, data).await,
        Route::Message => message::handle(ctx, data).await,
    };
    if let Err(error) = result {
        let code = error.code.machine();
        metrics
            .errors
            .with_label_values(&["websocket", route, code])
            .inc();
        ctx.fail(&error);
    }
}
