//! `/threads/search`: hybrid search over the messages of every thread the user may see.

use super::envelope::decode_data;
use super::views::{self, Users};
use super::Context;
use crate::error::Error;
use crate::search::{SearchError, MAX_RESULTS};
use crate::threads::access;
use serde::Deserialize;
use serde_json::{json, Value};

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
    let mut results = Vec::with_capacity(hits.len());
    for (message_id, score) in hits {
        if results.len() == MAX_RESULTS {
            break;
        }
        let Some(message) = services.store.message_by_id(message_id).await? else {
            continue;
        };
        let Some(thread) = services.store.thread(message.thread_id).await? else {
            continue;
        };
        if !access::can_see(ctx.user, &thread) || message.deleted_at.is_some() {
            continue;
        }
        let name = users.get(message.sent_by).await?.map(|u| u.name.clone());
        let mut item = views::message(&message, name.as_deref());
        // A result list needs no result rows (up to the row cap each); the thread has them.
        if let Some(steps) = item["context"]["steps"].as_array_mut() {
            for step in steps {
                if let Some(fetched) = step.get_mut("fetchingData") {
                    fetched["data"] = Value::Null;
                }
            }
        }
        item["thread_title"] = json!(thread.title);
        item["score"] = json!(score);
        results.push(item);
    }
    ctx.reply("searchThreads", Value::Array(results));
    Ok(())
}
