//! The Freddy threads API (Aitronos' legacy `/v1`, seed 003) over the same threads, tokens and
//! store as every other face: a thread made here is live in the WebSocket list, in the
//! LangGraph API and in search, and the other way round.
//!
//! - errors: `{"success": false, "error": {code, message, type, status, details, trace_id,
//!   timestamp}}`, the code from the one table's Freddy column (`Code::freddy`).
//! - `view`: the thread object and its `thread_…` ids; `body`: request bodies and queries;
//!   `limits`: Freddy's metadata limits.
//! - one file per endpoint: `create`, `list`, `get`, `modify` (`POST /threads/{id}`),
//!   `metadata`, `rename`, `name` (generateName), `delete`, `lifecycle` (lock, unlock, archive, unarchive),
//!   `messages` (list, delete all), `message` (edit, delete one), `respond` (ask the
//!   analyst: `/model/response`, streamed as server-sent events, and its cancel).
//!
//! Authentication: `Authorization: Bearer <token>` or `X-API-Key: <token>`.

mod body;
mod create;
mod delete;
mod get;
mod lifecycle;
mod limits;
mod list;
mod message;
mod messages;
mod metadata;
mod modify;
mod name;
mod rename;
mod respond;
pub mod view;

use crate::auth;
use crate::error::{Category, Code, Error, Result};
use crate::model::User;
use crate::services::Services;
use std::sync::Arc;
use warp::http::{HeaderMap, Method};
use warp::Filter;

/// One authenticated request.
pub struct Request<'a> {
    pub services: &'a Arc<Services>,
    pub user: User,
    /// The raw query string.
    pub query: String,
    pub body: Vec<u8>,
}

/// Every request under `/v1/`, answered here whatever its method.
pub fn routes(
    services: Arc<Services>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::path("v1")
        .and(warp::path::tail())
        .and(crate::request_body::incoming())
        .and(warp::any().map(move || services.clone()))
        .then(
            |tail: warp::path::Tail,
             request: crate::request_body::Incoming,
             services: Arc<Services>| async move {
                let crate::request_body::Incoming {
                    method,
                    headers,
                    query,
                    body,
                } = request;
                let answer = match body {
                    Ok(body) => {
                        handle(&services, tail.as_str(), method, &headers, query, body).await
                    }
                    Err(err) => Err(err),
                };
                answer.unwrap_or_else(error_response)
            },
        )
}

async fn handle(
    services: &Arc<Services>,
    path: &str,
    method: Method,
    headers: &HeaderMap,
    query: String,
    body: Vec<u8>,
) -> Result<warp::reply::Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let token = auth::request_token(header("authorization"), header("x-api-key"), None);
    let request = Request {
        services,
        user: auth::user_for_token(&services.store, token).await?,
        query,
        body,
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if method == Method::GET {
        crate::workers::wake_an_idle_worker();
    }
    match (segments.as_slice(), method) {
        (["model", "response"], Method::POST) => respond::handle(&request).await,
        (["model", "response", id, "cancel"], Method::POST) => {
            respond::cancel(&request, view::parse_thread_id(id)?).await
        }
        (["threads"], Method::POST) => create::handle(&request).await,
        (["threads"], Method::GET) => list::handle(&request).await,
        (["threads", id], method) => {
            let id = view::parse_thread_id(id)?;
            match method {
                Method::GET => get::handle(&request, id).await,
                Method::POST => modify::handle(&request, id).await,
                Method::DELETE => delete::handle(&request, id).await,
                _ => Err(method_not_allowed()),
            }
        }
        (["threads", id, "messages"], Method::GET) => {
            messages::list(&request, view::parse_thread_id(id)?).await
        }
        (["threads", id, "messages"], Method::DELETE) => {
            messages::clear(&request, view::parse_thread_id(id)?).await
        }
        (["threads", id, "messages", turn], method) => {
            let (id, turn) = (view::parse_thread_id(id)?, view::parse_message_id(turn)?);
            match method {
                Method::PATCH => message::edit(&request, id, turn).await,
                Method::DELETE => message::delete(&request, id, turn).await,
                _ => Err(method_not_allowed()),
            }
        }
        (["threads", id, "metadata"], Method::PATCH) => {
            metadata::handle(&request, view::parse_thread_id(id)?).await
        }
        (["threads", id, "generateName"], Method::POST) => {
            name::handle(&request, view::parse_thread_id(id)?).await
        }
        (["threads", id, "rename"], Method::PUT) => {
            rename::handle(&request, view::parse_thread_id(id)?).await
        }
        (["threads", id, action], Method::POST) if lifecycle::transition(action).is_some() => {
            let transition = lifecycle::transition(action).expect("checked by the guard");
            lifecycle::handle(&request, view::parse_thread_id(id)?, transition).await
        }
        (["threads"] | ["threads", _, "metadata" | "rename" | "messages" | "generateName"], _) => {
            Err(method_not_allowed())
        }
        (["threads", _, action], _) if lifecycle::transition(action).is_some() => {
            Err(method_not_allowed())
        }
        _ => Err(Error::new(
            Code::UnknownRoute,
            format!("no endpoint /v1/{path}"),
        )),
    }
}

fn method_not_allowed() -> Error {
    Error::new(
        Code::MethodNotAllowed,
        "method not allowed on this endpoint",
    )
}

/// An error in Freddy's envelope, under the code's HTTP status. The table's own machine code
/// is in `details.skein_code`.
pub fn error_response(error: Error) -> warp::reply::Response {
    let status = error.code.http_status();
    let kind = match error.code.category() {
        Category::Internal => "server_error",
        Category::Unavailable => "service_error",
        Category::Auth => "authentication_error",
        _ => "client_error",
    };
    let body = serde_json::json!({
        "success": false,
        "error": {
            "code": error.code.freddy(),
            "message": error.message,
            "type": kind,
            "status": status.as_u16(),
            "details": {"skein_code": error.code.machine()},
            "trace_id": uuid::Uuid::new_v4(),
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        },
    });
    let mut response = json(status, &body);
    response
        .extensions_mut()
        .insert(crate::error::Rendered(error.code));
    response
}

/// A JSON reply with a status.
pub fn json(status: warp::http::StatusCode, value: &serde_json::Value) -> warp::reply::Response {
    use warp::Reply;
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// 200 with a JSON body.
pub fn ok(value: &serde_json::Value) -> Result<warp::reply::Response> {
    Ok(json(warp::http::StatusCode::OK, value))
}
