//! warp filters: the authenticated WebSocket endpoint `/ws`, liveness (`/healthz`) and
//! readiness (`/readyz`, see `health`), Prometheus metrics (`/metrics`), and the web UI (`/`, `/assets/…`) served from files
//! compiled into the binary.

use crate::auth;
use crate::error::{Code, Error};
use crate::model::User;
use crate::services::Services;
use crate::ws;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::mpsc;
use warp::{Filter, Rejection, Reply};

/// A request refused with an entry of the error table.
#[derive(Debug)]
struct Refused(Error);
impl warp::reject::Reject for Refused {}

/// All HTTP routes. Each WebSocket task holds a clone of `open_connections` until it ends, so
/// shutdown can wait for every socket to close, and one of `websocket_slots` (none free: the
/// upgrade is refused with 429).
pub fn routes(
    services: Arc<Services>,
    open_connections: mpsc::Sender<()>,
    websocket_slots: Arc<tokio::sync::Semaphore>,
    slack: Option<Arc<crate::slack::Slack>>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let rest = crate::rest::routes(services.clone());
    let slack = crate::slack::routes(slack);
    let freddy = crate::freddy::routes(services.clone());
    let with_services = {
        let services = services.clone();
        warp::any().map(move || services.clone())
    };
    let socket = warp::path("ws")
        .and(warp::path::end())
        .and(authenticated(services))
        .and(ws::handshake())
        .and(with_services.clone())
        .map(
            move |(user, token): (User, [u8; 32]),
                  handshake: ws::Handshake,
                  services: Arc<Services>| {
                let Ok(slot) = websocket_slots.clone().try_acquire_owned() else {
                    return crate::rest::error_response(Error::new(
                        Code::RateLimited,
                        "the server has as many WebSocket connections open as it serves; try again later",
                    ));
                };
                let guard = open_connections.clone();
                handshake.finish(move |socket| async move {
                    ws::serve_connection(socket, services, user, token).await;
                    drop(guard);
                    drop(slot);
                })
            },
        );
    let health = warp::path("healthz")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_services.clone())
        .then(|services: Arc<Services>| async move {
            warp::reply::json(&crate::health::liveness(&services).await)
        });
    let ready = warp::path("readyz")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_services.clone())
        .map(|services: Arc<Services>| {
            let (ready, body) = crate::health::readiness(&services);
            let status = if ready {
                warp::http::StatusCode::OK
            } else {
                warp::http::StatusCode::SERVICE_UNAVAILABLE
            };
            warp::reply::with_status(warp::reply::json(&body), status)
        });
    let metrics =
        warp::path("metrics")
            .and(warp::path::end())
            .and(warp::get())
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::header::optional::<String>("x-api-key"))
            .and(with_services)
            .then(
                |authorization: Option<String>,
                 api_key: Option<String>,
                 services: Arc<Services>| async move {
                    let token =
                        auth::request_token(authorization.as_deref(), api_key.as_deref(), None);
                    match may_read_metrics(&services, token).await {
                        Ok(()) => {
                            let text = metrics_text(&services).await;
                            let mut response = warp::reply::Response::new(text.into());
                            response.headers_mut().insert(
                                "content-type",
                                "text/plain; version=0.0.4; charset=utf-8"
                                    .parse()
                                    .expect("a valid header"),
                            );
                            response
                        }
                        Err(error) => crate::rest::error_response(error),
                    }
                },
            );
    let api = warp::path::full()
        .and(freddy.or(slack).or(rest))
        .map(counted);
    let index = warp::path::end()
        .and(warp::get())
        .map(|| asset("index.html"));
    let assets = warp::path("assets")
        .and(warp::path::tail())
        .and(warp::get())
        .map(|tail: warp::path::Tail| asset(tail.as_str()));
    socket
        .or(health)
        .or(ready)
        .or(metrics)
        .or(index)
        .or(assets)
        .or(api)
        .recover(rejection_reply)
        .with(warp::reply::with::headers(security_headers()))
}

/// Counts one request of an API face, and its failure's machine code, in the metrics (the
/// WebSocket face counts each request of a connection itself).
fn counted(path: warp::path::FullPath, reply: impl Reply) -> warp::reply::Response {
    let response = reply.into_response();
    let (face, route) = face_and_route(path.as_str());
    let metrics = &crate::metrics::METRICS;
    metrics.requests.with_label_values(&[face, &route]).inc();
    if let Some(crate::error::Rendered(code)) = response.extensions().get() {
        metrics
            .errors
            .with_label_values(&[face, &route, code.machine()])
            .inc();
    }
    response
}

/// Which face a path belongs to, and the path with its ids written `{id}` (one series per
/// route, not per thread).
fn face_and_route(path: &str) -> (&'static str, String) {
    let face = if path.starts_with("/v1/") {
        "freddy"
    } else if path.starts_with("/slack/") {
        "slack"
    } else {
        "rest"
    };
    let is_id = |segment: &str| {
        uuid::Uuid::parse_str(segment).is_ok()
            || (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
            || (segment.len() >= 16 && segment.bytes().any(|b| b.is_ascii_digit()))
    };
    let route: Vec<&str> = path
        .split('/')
        .map(|segment| if is_id(segment) { "{id}" } else { segment })
        .collect();
    (face, route.join("/"))
}

/// Who may read `/metrics`: a scraper with the configured metrics token, or an admin.
async fn may_read_metrics(services: &Services, token: Option<String>) -> Result<(), Error> {
    use sha2::{Digest, Sha256};
    if let (Some(secret), Some(given)) = (&services.settings.metrics_token, &token) {
        // Compared as hashes, so the time taken says nothing of the secret.
        if Sha256::digest(secret.as_bytes()) == Sha256::digest(given.as_bytes()) {
            return Ok(());
        }
    }
    let user = auth::user_for_token(&services.store, token).await?;
    auth::require_admin(
        &user,
        "metrics are for admins and the scraper's --metrics-token",
    )
}

/// The metrics, with the gauges of what the services hold now.
async fn metrics_text(services: &Services) -> String {
    let (thread_subscriptions, list_subscriptions) = services.hub.subscription_counts();
    crate::metrics::METRICS.render(&crate::metrics::Scrape {
        thread_subscriptions,
        list_subscriptions,
        store_seq: services.store.last_seq().await.unwrap_or(0),
        covered_seq: services.search.covered_seq(),
        index_lag: services
            .store
            .changes_after(services.search.covered_seq())
            .await
            .unwrap_or(0),
    })
}

/// Sent with every response, UI and API alike: the UI's scripts and styles come only from
/// the server's own files (no inline script runs, whatever a dataset or a model puts on the
/// page), no site may frame it, and the login URL's token never leaves in a Referer.
fn security_headers() -> warp::http::HeaderMap {
    const HEADERS: [(&str, &str); 5] = [
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    let mut headers = warp::http::HeaderMap::new();
    for (name, value) in HEADERS {
        headers.insert(name, value.parse().expect("a valid header value"));
    }
    headers
}

/// The user of the token in `Authorization: Bearer …`, `X-Api-Key` or `?token=…`, with the
/// token's hash (so revoking the token can close the connection).
fn authenticated(
    services: Arc<Services>,
) -> impl Filter<Extract = ((User, [u8; 32]),), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::header::optional::<String>("x-api-key"))
        .and(warp::query::<HashMap<String, String>>())
        .and_then(
            move |header: Option<String>,
                  api_key: Option<String>,
                  query: HashMap<String, String>| {
                let services = services.clone();
                async move {
                    let token = auth::request_token(
                        header.as_deref(),
                        api_key.as_deref(),
                        query.get("token").map(String::as_str),
                    );
                    let hash = token.as_deref().map(auth::hash_token).unwrap_or_default();
                    auth::user_for_token(&services.store, token)
                        .await
                        .map(|user| (user, hash))
                        .map_err(|err| warp::reject::custom(Refused(err)))
                }
            },
        )
}

/// Every rejection as an entry of the error table, in the REST body shape.
async fn rejection_reply(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    let error = if let Some(Refused(error)) = rejection.find() {
        error.clone()
    } else if rejection.is_not_found() {
        Error::new(Code::UnknownRoute, "not found")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        Error::new(Code::MethodNotAllowed, "method not allowed")
    } else if is_not_a_websocket(&rejection) {
        Error::malformed("this address speaks WebSocket only: connect with a WebSocket client")
    } else if let Some(missing) = rejection.find::<warp::reject::MissingHeader>() {
        Error::malformed(format!("the {} header is missing", missing.name()))
    } else if let Some(invalid) = rejection.find::<warp::reject::InvalidHeader>() {
        Error::malformed(format!("the {} header could not be read", invalid.name()))
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        Error::malformed("the query string could not be read")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        Error::new(Code::PayloadTooLarge, "the request body is too large")
    } else {
        // Never warp's Debug text: it names internals and reads as noise to a client.
        tracing::debug!(?rejection, "request rejected");
        Error::malformed("the request could not be read")
    };
    Ok(crate::rest::error_response(error))
}

/// Whether the request reached the WebSocket route without asking to upgrade: the headers an
/// upgrade needs are missing or say something else.
fn is_not_a_websocket(rejection: &Rejection) -> bool {
    const UPGRADE: [&str; 4] = [
        "connection",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-version",
    ];
    let named = |name: &str| UPGRADE.contains(&name.to_ascii_lowercase().as_str());
    rejection.find::<ws::NotAnUpgrade>().is_some()
        || rejection
            .find::<warp::reject::MissingHeader>()
            .is_some_and(|h| named(h.name()))
        || rejection
            .find::<warp::reject::InvalidHeader>()
            .is_some_and(|h| named(h.name()))
}

/// The web UI's files, compiled into the binary (nothing is fetched at run time).
#[derive(rust_embed::RustEmbed)]
#[folder = "assets/ui/"]
struct Ui;

/// One embedded UI file, or 404.
fn asset(path: &str) -> warp::reply::Response {
    match Ui::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let mut response = warp::reply::Response::new(file.data.into_owned().into());
            let headers = response.headers_mut();
            headers.insert(
                "content-type",
                mime.as_ref().parse().expect("a valid mime type"),
            );
            // The UI changes with the binary: always ask again.
            headers.insert("cache-control", "no-store".parse().expect("a valid header"));
            response
        }
        None => crate::rest::error_response(Error::new(Code::UnknownRoute, "not found")),
    }
}
