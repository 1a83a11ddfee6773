//! `/threads/search`: hybrid search over the messages of every thread the user may see.

use super::envelope::decode_data;
use super::views::{self, Users};
use super::Context;
use crate::error::Error;
use crate::model::Thread;
use crate::search::{SearchError, MAX_RESULTS};
use crate::threads::access;
use serde::Deserialize;
use serde_json::Value;
use std::collections::hash_map::{Entry, HashMap};
use uuid::Uuid;

#[derive(Deserialize)]
struct SearchRequest {
    prompt: String,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: SearchRequest = decode_data(data)?;
    let prompt = crate::threads::rules::prompt(&request.prompt)?;
    let services = ctx.services;
    let hits = services
        .search
        .query(ctx.user, &prompt)
        .await
        .map_err(|err| match err {
            SearchError::EmptyQuery => Error::invalid(
                "the search prompt has no words to search for; use letters or digits",
            ),
            other => {
                tracing::error!(error = %other, "search failed");
                Error::internal("the search failed; see the server log")
            }
        })?;

    // The index filters by access already; checking the stored thread again keeps a result
    // from a change not yet indexed (a share just taken back, a thread just deleted) out.
    let mut users = Users::new(&services.store);
    // Hits often share a thread: each is read once.
    let mut threads: HashMap<Uuid, Option<Thread>> = HashMap::new();
    let mut found = Vec::with_capacity(hits.len().min(MAX_RESULTS));
    for (message_id, score) in hits {
        if found.len() == MAX_RESULTS {
            break;
        }
        let Some(message) = services.store.message_by_id(message_id).await? else {
            continue;
        };
        let thread = match threads.entry(message.thread_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(services.store.thread(message.thread_id).await?),
        };
        let Some(thread) = thread else {
            continue;
        };
        if !access::can_see(ctx.user, thread) || message.deleted_at.is_some() {
            continue;
        }
        let name = users.get(message.sent_by).await?.map(|u| u.name.clone());
        found.push((message, name, thread.title.clone(), score));
    }
    let results: Vec<_> = found
        .iter()
        .map(|(message, name, title, score)| {
            views::search_hit(message, name.as_deref(), title, *score)
        })
        .collect();
    ctx.reply("searchThreads", results);
    Ok(())
}
