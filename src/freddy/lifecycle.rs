//! `POST /v1/threads/{id}/lock`, `/unlock`, `/archive`, `/unarchive` → the thread. (Freddy's
//! public docs name the states but no endpoints; these are ours.)

use super::{ok, view, Request};
use crate::error::Result;
use crate::threads::lifecycle::{self, Transition};
use uuid::Uuid;

/// The move an endpoint's last path segment names.
pub fn transition(action: &str) -> Option<Transition> {
    match action {
        "lock" => Some(Transition::Lock),
        "unlock" => Some(Transition::Unlock),
        "archive" => Some(Transition::Archive),
        "unarchive" => Some(Transition::Unarchive),
        _ => None,
    }
}

pub async fn handle(
    request: &Request<'_>,
    id: Uuid,
    transition: Transition,
) -> Result<warp::reply::Response> {
    let thread = lifecycle::change(request.services, &request.user, id, transition).await?;
    ok(&view::thread_json(request.services, &thread).await?)
}
