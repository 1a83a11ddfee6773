//! The LangGraph-compatible REST threads API (seed 002 and the LangGraph Agent Server's thread
//! endpoints), on the same port, store and tokens as the WebSocket API. A thread is one thread
//! whichever API made it: changes made here reach WebSocket watchers and lists.
//!
//! - errors come from the one table (`crate::error`): `{"detail", "code", "type"}` bodies.
//! - `schema`: body validation with the reference's messages.
//! - `view`: the Thread and ThreadState objects; `query`: filters, sorting, select, extract.
//! - one file per endpoint: `create`, `get`, `patch`, `delete`, `search`, `count`, `copy`,
//!   `prune`, `state` (GET and POST), `history`, `meta` (`/ok`, `/info`, `/openapi.json`).
//!
//! Authentication: `Authorization: Bearer <token>` or `X-Api-Key: <token>`, the same tokens as
//! the WebSocket API; `/ok`, `/info` and `/openapi.json` are open.

#[cfg(test)]
mod body_fuzz;
mod copy;
mod count;
mod create;
mod delete;
mod get;
mod history;
mod meta;
mod patch;
mod prune;
pub mod query;
pub mod schema;
mod search;
mod state;
pub mod view;

use crate::auth;
use crate::error::{Code, Error, Result};
use crate::model::{Thread, User};
use crate::services::Services;
use crate::threads::access::{self, Right};
use std::sync::Arc;
use uuid::Uuid;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::Filter;

/// One authenticated request.
pub struct Request<'a> {
    pub services: &'a Arc<Services>,
    pub user: User,
    pub headers: HeaderMap,
    /// The raw query string.
    pub query: String,
    pub body: Vec<u8>,
}

impl Request<'_> {
    /// A query parameter's values, comma lists split.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| {
                value
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The thread `id` if this user may see it, else 404 (whether it exists or not).
    pub async fn visible_thread(&self, id: Uuid) -> Result<(Thread, auth::Access)> {
        access::thread(&self.services.store, &self.user, id, Right::See).await
    }

    /// Every thread this user may see.
    pub async fn visible_threads(&self) -> Result<Vec<Thread>> {
        access::visible_threads(&self.services.store, &self.user).await
    }

    pub async fn view(&self, thread: Thread) -> Result<view::ThreadView> {
        Ok(view::ThreadView::load(&self.services.store, &self.services.runs, thread).await?)
    }
}

/// The REST routes: every request whose path is one of the API's, answered here whatever its
/// method, so unknown methods get 405 and bad ids 422 in the reference server's shape.
pub fn routes(
    services: Arc<Services>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and_then(|path: warp::path::FullPath| async move {
            if is_api_path(path.as_str()) {
                Ok(path)
            } else {
                Err(warp::reject::not_found())
            }
        })
        .and(crate::request_body::incoming())
        .and(warp::any().map(move || services.clone()))
        .then(
            |path: warp::path::FullPath,
             request: crate::request_body::Incoming,
             services: Arc<Services>| async move {
                let crate::request_body::Incoming {
                    method,
                    headers,
                    query,
                    body,
                } = request;
                match body {
                    Ok(body) => handle(&services, path.as_str(), method, headers, query, body)
                        .await
                        .unwrap_or_else(error_response),
                    Err(err) => error_response(err),
                }
            },
        )
}

fn is_api_path(path: &str) -> bool {
    path == "/threads"
        || path.starts_with("/threads/")
        || matches!(path, "/ok" | "/info" | "/openapi.json")
}

async fn handle(
    services: &Arc<Services>,
    path: &str,
    method: Method,
    headers: HeaderMap,
    query: String,
    body: Vec<u8>,
) -> Result<warp::reply::Response> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &method) {
        (["ok"], &Method::GET) => return Ok(meta::ok()),
        (["info"], &Method::GET) => return Ok(meta::info()),
        (["openapi.json"], &Method::GET) => return Ok(meta::openapi()),
        (["ok" | "info" | "openapi.json"], _) => return Err(method_not_allowed()),
        _ => {}
    }
    let user = authenticate(services, &headers).await?;
    let request = Request {
        services,
        user,
        headers,
        query,
        body,
    };
    // Searching and counting are POSTs that only read.
    if method == Method::GET || matches!(segments.as_slice(), ["threads", "search" | "count"]) {
        crate::workers::wake_an_idle_worker();
    }
    match (segments.as_slice(), method) {
        (["threads"], Method::POST) => create::handle(&request).await,
        (["threads", "search"], Method::POST) => search::handle(&request).await,
        (["threads", "count"], Method::POST) => count::handle(&request).await,
        (["threads", "prune"], Method::POST) => prune::handle(&request).await,
        (["threads", id], method) => {
            let id = thread_id(id)?;
            match method {
                Method::GET => get::handle(&request, id).await,
                Method::PATCH => patch::handle(&request, id).await,
                Method::DELETE => delete::handle(&request, id).await,
                _ => Err(method_not_allowed()),
            }
        }
        (["threads", id, "copy"], Method::POST) => copy::handle(&request, thread_id(id)?).await,
        (["threads", id, "state"], Method::GET) => state::get(&request, thread_id(id)?).await,
        (["threads", id, "state"], Method::POST) => state::post(&request, thread_id(id)?).await,
        (["threads", id, "history"], Method::GET) => history::get(&request, thread_id(id)?).await,
        (["threads", id, "history"], Method::POST) => history::post(&request, thread_id(id)?).await,
        (["threads"] | ["threads", _, "copy" | "state" | "history"], _) => {
            Err(method_not_allowed())
        }
        _ => Err(Error::new(Code::UnknownRoute, "Not Found")),
    }
}

fn thread_id(text: &str) -> Result<Uuid> {
    schema::parse_uuid(text).ok_or_else(|| Error::invalid("Invalid thread ID: must be a UUID"))
}

fn method_not_allowed() -> Error {
    Error::new(Code::MethodNotAllowed, "Method Not Allowed")
}

/// The user of `Authorization: Bearer` or `X-Api-Key`.
async fn authenticate(services: &Services, headers: &HeaderMap) -> Result<User> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let token = auth::request_token(header("authorization"), header("x-api-key"), None);
    auth::user_for_token(&services.store, token).await
}

/// An error in the REST body shape: LangGraph's `detail`, with the table's machine code and
/// category beside it, under the code's HTTP status. (Every HTTP error takes this shape.)
pub fn error_response(error: Error) -> warp::reply::Response {
    let body = serde_json::json!({
        "detail": error.message,
        "code": error.code.machine(),
        "type": error.code.category().name(),
    });
    let mut response = json_reply(error.code.http_status(), &body);
    response
        .extensions_mut()
        .insert(crate::error::Rendered(error.code));
    response
}

/// A JSON reply with a status.
pub fn json_reply(status: StatusCode, value: &serde_json::Value) -> warp::reply::Response {
    use warp::Reply;
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

pub fn ok_json(value: &serde_json::Value) -> Result<warp::reply::Response> {
    Ok(json_reply(StatusCode::OK, value))
}

/// 204 No Content.
pub fn no_content() -> warp::reply::Response {
    use warp::Reply;
    StatusCode::NO_CONTENT.into_response()
}
