//! Changing a thread: its title, who it is shared with, and a message's code (re-run, and
//! repaired if it can be), feedback, verification status and chart. All of it applies, or none.

use super::access::{self, Right};
use super::rules;
use crate::error::{Code, Error, Result};
use crate::events::{Event, Touched};
use crate::hub::ConnId;
use crate::model::{
    Analysis, Feedback, Json, Share, ShareRole, Thread, TitleSource, User, Verification,
};
use crate::pipeline::{self, Recorder, StepRecord, StepSink};
use crate::services::Services;
use crate::store::abort;
use chrono::Utc;
use uuid::Uuid;

/// A change to a thread and one of its messages, as any interface hands it over.
#[derive(Default)]
pub struct Changes {
    /// The message that code, feedback, status and chart apply to; the latest if `None`.
    pub message_id: Option<Uuid>,
    pub title: Option<String>,
    pub code: Option<String>,
    /// `Some(None)` clears the feedback.
    pub feedback: Option<Option<Feedback>>,
    pub status: Option<Verification>,
    /// `Some(None)` clears the chart.
    pub chart_config: Option<Option<Json>>,
    pub shares: Option<Vec<ShareChange>>,
}

/// Giving someone a role on the thread, or (`role: None`) taking it back.
pub struct ShareChange {
    pub user: UserRef,
    pub role: Option<ShareRole>,
}

pub enum UserRef {
    Id(Uuid),
    Email(String),
}

impl Changes {
    fn touches_message(&self) -> bool {
        self.code.is_some()
            || self.feedback.is_some()
            || self.status.is_some()
            || self.chart_config.is_some()
    }
}

/// Applies `changes` to thread `thread_id`; new code streams its repair steps to `sink`.
/// Returns the thread as it is now, and what of it changed.
pub async fn update(
    services: &Services,
    user: &User,
    thread_id: Uuid,
    changes: Changes,
    sink: &dyn StepSink,
    origin: Option<ConnId>,
) -> Result<(Thread, Touched)> {
    let title = changes.title.as_deref().map(rules::title).transpose()?;
    if let Some(code) = &changes.code {
        if code.trim().is_empty() {
            return Err(Error::new(Code::InvalidSql, "code must not be empty"));
        }
    }
    let shares = match &changes.shares {
        Some(requests) => resolve_shares(services, user, requests).await?,
        None => Vec::new(),
    };
    if title.is_none() && !changes.touches_message() && changes.shares.is_none() {
        return Err(Error::invalid(
            "nothing to update: give title, code, feedback, status, chart_config or share",
        ));
    }
    let message_id = changes.message_id;
    // New SQL runs (and is repaired if it can be) before anything is written.
    let ran = match &changes.code {
        Some(code) => Some(run_code(services, user, thread_id, message_id, code, sink).await?),
        None => None,
    };
    let now = Utc::now();
    let writer = user.clone();
    let (before, after, touched) = services
        .store
        .write_threads(move |tx| {
            let user = &writer;
            let right = if changes.shares.is_some() {
                Right::Manage
            } else {
                Right::Edit
            };
            let (before, _) = access::in_write(tx, user, thread_id, right)?;
            let kind = if title.is_some() || changes.touches_message() {
                rules::Change::Content
            } else {
                rules::Change::Settings
            };
            rules::allows(&before, kind).or_else(abort)?;
            let mut after = before.clone();
            rules::stamp(&mut after, user, now);
            if let Some(title) = &title {
                after.title = title.clone();
                after.titled_by = TitleSource::User;
            }
            for (user_id, role) in &shares {
                if *user_id == before.created_by {
                    return abort(Error::invalid(
                        "the thread's owner always has full access; share with someone else",
                    ));
                }
                after.shares.retain(|share| share.user_id != *user_id);
                if let Some(role) = role {
                    after.shares.push(Share {
                        user_id: *user_id,
                        role: *role,
                    });
                }
            }
            // A message_id that names no message of this thread is refused even when only
            // thread attributes change, so a client's mistake never passes silently.
            let mut touched = Touched::Thread;
            if changes.touches_message() || message_id.is_some() {
                let target = match message_id {
                    Some(id) => tx.message(thread_id, id)?,
                    None => tx.latest_message(&before)?,
                };
                let Some(mut message) = target else {
                    return abort(Error::new(
                        Code::MessageNotFound,
                        match message_id {
                            Some(id) => format!("message {id} not found in thread {thread_id}"),
                            None => format!("thread {thread_id} has no message to update"),
                        },
                    ));
                };
                if let Some(ran) = &ran {
                    if message.dataset_id != Some(ran.dataset_id) {
                        return abort(Error::new(
                            Code::ConcurrentChange,
                            "the message changed while its SQL ran; send the update again",
                        ));
                    }
                    ran.apply(&mut message, changes.chart_config.is_some());
                }
                if let Some(feedback) = changes.feedback {
                    message.feedback = feedback;
                }
                if let Some(status) = changes.status {
                    message.status = status;
                }
                if let Some(chart_config) = &changes.chart_config {
                    message.chart_config = chart_config.clone();
                }
                if changes.touches_message() {
                    message.updated_at = Some(now);
                    tx.replace_message(&message)?;
                    touched = Touched::Message(message.id);
                }
            }
            tx.put_thread(&after)?;
            Ok((before, after, touched))
        })
        .await?;
    // Those who lost access leave first, so the change itself never reaches them.
    if before.shares != after.shares {
        services.publish(Event::AccessChanged {
            before: Box::new(before),
            after: Box::new(after.clone()),
        });
    }
    services.publish(Event::ThreadChanged {
        thread: after.clone(),
        by: user.clone(),
        origin,
        touched,
    });
    services.settled().await;
    Ok((after, touched))
}

/// SQL that ran for an update: the statement (repaired if it had to be) and what it produced.
struct RanCode {
    dataset_id: Uuid,
    sql: String,
    result: crate::datasets::QueryResult,
    /// `fixingSql` (if repaired) and `fetchingData`, as persisted steps.
    steps: Vec<StepRecord>,
}

impl RanCode {
    /// Puts the new SQL's result into `message`. The analyst's words and plan described the
    /// old SQL; keeping them would put its numbers and reading next to a different result.
    fn apply(&self, message: &mut crate::model::Message, chart_given: bool) {
        message.code = Some(self.sql.clone());
        message.data_metadata = Some(Json::new(pipeline::data_metadata(&self.result)));
        // A chart naming columns the new result lacks is replaced by one that fits.
        let fits = message
            .chart_config
            .as_ref()
            .is_some_and(|c| pipeline::chart::chart_fits(c.value(), &self.result));
        if !fits && !chart_given {
            let (config, recommendations) = pipeline::chart::chart_for_result(&self.result);
            message.chart_config = Some(Json::new(config));
            message.chart_recommendations = Some(Json::new(recommendations));
        }
        message
            .analysis
            .get_or_insert_with(|| Analysis::new(Vec::new()))
            .merge(&self.steps);
        let rows = self.result.rows.len();
        let noun = if rows == 1 { "row" } else { "rows" };
        let more = if self.result.truncated {
            " (the first of more)"
        } else {
            ""
        };
        message.set_answer(
            &format!("The edited SQL returned {rows} {noun}{more}."),
            "The SQL was edited by hand, so the analyst's earlier reading of the question no \
             longer applies; the rows are what the edited SQL returned.",
            pipeline::restate::BY_HAND,
        );
        message.plan = None;
    }
}

/// Runs new SQL for a message against the message's dataset, repairing it if it fails.
async fn run_code(
    services: &Services,
    user: &User,
    thread_id: Uuid,
    message_id: Option<Uuid>,
    code: &str,
    sink: &dyn StepSink,
) -> Result<RanCode> {
    access::thread(&services.store, user, thread_id, Right::Edit).await?;
    let message = match message_id {
        Some(id) => services
            .store
            .message_by_id(id)
            .await?
            .filter(|m| m.thread_id == thread_id),
        None => services.store.latest_message(thread_id).await?,
    }
    .ok_or_else(|| {
        Error::new(
            Code::MessageNotFound,
            format!("message not found in thread {thread_id}"),
        )
    })?;
    let dataset = match message.dataset_id {
        Some(id) => services.datasets.get_for(user, id).await.ok().flatten(),
        None => None,
    };
    let dataset = dataset.ok_or_else(|| {
        Error::invalid("this message has no dataset to run SQL against; ask a question first")
    })?;
    let mut recorder = Recorder::new(sink, thread_id, message.id);
    let (sql, result) = pipeline::execute_with_repairs(
        &services.datasets,
        &dataset,
        code.to_string(),
        &mut recorder,
    )
    .await
    .map_err(|failure| {
        Error::new(
            Code::InvalidSql,
            format!("{} Nothing was changed.", failure.message),
        )
    })?;
    let mut steps = recorder.into_steps();
    let mut fetched = serde_json::Map::new();
    fetched.insert("data".into(), pipeline::rows_as_objects(&result));
    fetched.insert("data_metadata".into(), pipeline::data_metadata(&result));
    steps.push(
        pipeline::StepUpdate {
            step: pipeline::Step::FetchingData,
            progress: pipeline::Progress::Completed,
            fields: fetched,
            failure: None,
            thread_id,
            message_id: message.id,
        }
        .record(),
    );
    Ok(RanCode {
        dataset_id: dataset.id,
        sql,
        result,
        steps,
    })
}

/// Finds each share's user in the requester's org.
async fn resolve_shares(
    services: &Services,
    user: &User,
    requests: &[ShareChange],
) -> Result<Vec<(Uuid, Option<ShareRole>)>> {
    if requests.is_empty() {
        return Err(Error::invalid("share must list at least one user"));
    }
    let store = &services.store;
    let mut shares = Vec::with_capacity(requests.len());
    for request in requests {
        let (found, named) = match &request.user {
            UserRef::Id(id) => (store.user(*id).await?, id.to_string()),
            UserRef::Email(email) => (store.user_by_email(email).await?, email.clone()),
        };
        // Users of other orgs look the same as nonexistent ones.
        let found = found.filter(|u| u.org_id == user.org_id).ok_or_else(|| {
            Error::new(
                Code::UserNotFound,
                format!("no user {named} in your organization"),
            )
        })?;
        shares.push((found.id, request.role));
    }
    Ok(shares)
}
