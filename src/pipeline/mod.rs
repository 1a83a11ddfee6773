//! The `/threads/post` analysis: the steps of seed 000, in order, streamed to the thread's
//! watchers and persisted into the message.
//!
//! A run is a straight line of stages, each a module with a typed input and output:
//!
//! 1. `understand`: the dataset ([`understand::Chosen`]) and the planner's reading of the
//!    question (identifyingDataset, identifyingTerms);
//! 2. `author`: who writes the SQL, decided once with the reason recorded, and the
//!    [`author::Draft`] (generatingSql);
//! 3. `execute`: the SQL run, repaired if it fails ([`execute::Ran`]; fixingSql, fetchingData);
//! 4. `wording`: explanation, time frame, title and summary ([`wording::Words`]);
//!
//! then `persist` writes the outcome into the message. A failed step ends the run; the
//! message keeps what was done. `record` emits every update and keeps the final steps.
//!
//! Reading questions: `text`, `timeframe`, `compare`, `planner` (a question against a dataset
//! into a plan), `coverage` (every word accounted for, or the question refused naming the
//! rest). Writing answers: `sqlgen` (the plan as SQL), `repair` (bounded fixes of failing SQL),
//! `restate` (what was computed, in words), `facts` and `summary` (numbers of the whole
//! result), `narrate` (explanation, time frame, title, chart). `model`: the language model's
//! side of stages 2 to 4. `steps`: step names, updates, and the records kept in `context.steps`.

pub mod author;
pub mod chart;
pub mod compare;
pub mod coverage;
pub mod execute;
pub mod facts;
pub mod model;
pub mod narrate;
pub mod persist;
pub mod planner;
pub mod record;
pub mod repair;
pub mod restate;
pub mod sqlgen;
pub mod steps;
pub mod summary;
pub mod text;
pub mod timeframe;
pub mod understand;
pub mod wording;

pub use execute::{data_metadata, execute_with_repairs, rows_as_objects};
pub use record::Recorder;
pub use steps::{Failure, FailureKind, Progress, Step, StepRecord, StepSink, StepUpdate};
pub use wording::Words;

use crate::datasets::{Datasets, QueryResult};
use crate::llm::LlmClient;
use crate::model::{Dataset, Thread, User};
use crate::store::{self, Store};
use author::Author;
use planner::Plan;
use uuid::Uuid;

/// One question to answer: a message already stored in a thread.
#[derive(Debug, Clone)]
pub struct Job {
    pub thread_id: Uuid,
    pub message_id: Uuid,
    pub prompt: String,
    /// The dataset the user picked; `None` lets the analyst choose.
    pub dataset_id: Option<Uuid>,
    pub user: User,
}

/// What every stage may use: the stores, the model if one is configured, and the job.
pub struct Context<'a> {
    pub store: &'a Store,
    pub datasets: &'a Datasets,
    pub llm: Option<&'a LlmClient>,
    pub job: &'a Job,
    /// Fires when a user cancels the run or deletes its thread.
    pub cancel: &'a tokio_util::sync::CancellationToken,
}

impl Context<'_> {
    /// Whether the run was cancelled (by a user, or by deleting its thread).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// What a completed run found.
pub struct Answer {
    /// The built-in planner's plan; `None` when the model wrote the SQL.
    pub plan: Option<Plan>,
    /// What was computed, in plain words (see `restate`).
    pub interpretation: String,
    pub sql: String,
    pub result: QueryResult,
    pub words: Words,
}

/// Answers `job`, streaming every step to `sink`, and stores the result in the message.
/// With `llm`, questions the built-in planner cannot plan go to the model.
///
/// Returns the thread as it is after the run, or `None` if it was deleted meanwhile. `stop`
/// fires on shutdown, `cancel` when a user cancels the run; either ends it, marked so.
pub async fn run(
    store: &Store,
    datasets: &Datasets,
    llm: Option<&LlmClient>,
    job: &Job,
    sink: &dyn StepSink,
    stop: &tokio_util::sync::CancellationToken,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Option<Thread>, store::Error> {
    let ctx = Context {
        store,
        datasets,
        llm,
        job,
        cancel,
    };
    let mut recorder = Recorder::new(sink, job.thread_id, job.message_id);
    let mut dataset = None;
    let outcome = tokio::select! {
        outcome = answer(&ctx, &mut recorder, &mut dataset) => outcome,
        _ = stop.cancelled() => Err(Failure::interrupted()),
        _ = cancel.cancelled() => Err(Failure::cancelled()),
    };
    persist::persist(store, job, dataset.as_ref(), recorder.into_steps(), outcome).await
}

/// The stages in order; `chosen` keeps the dataset once there is one, even if a later stage
/// fails.
async fn answer(
    ctx: &Context<'_>,
    recorder: &mut Recorder<'_>,
    chosen: &mut Option<Dataset>,
) -> Result<Answer, Failure> {
    let picked = understand::dataset(ctx, recorder).await?;
    *chosen = Some(picked.dataset.clone());
    let planned = understand::question(ctx, recorder, &picked).await?;
    let draft = author::draft(ctx, recorder, &picked, planned).await?;
    let ran = execute::execute(ctx, recorder, &picked.dataset, draft).await?;
    let words = wording::words(ctx, recorder, &picked.dataset, &ran).await?;
    let execute::Ran { draft, result } = ran;
    Ok(Answer {
        plan: match draft.author {
            Author::BuiltIn(plan) => Some(*plan),
            Author::Model { .. } => None,
        },
        interpretation: draft.interpretation,
        sql: draft.sql,
        result,
        words,
    })
}

/// Example questions about `dataset` the analyst answers (from its columns, each checked by
/// planning it); none if its data cannot be profiled.
pub async fn example_questions(
    datasets: &crate::datasets::Datasets,
    dataset: &crate::model::Dataset,
) -> Vec<String> {
    let today = chrono::Utc::now().date_naive();
    match datasets.profile(dataset).await {
        Ok(profile) => planner::example_questions(dataset, &profile, today),
        Err(_) => Vec::new(),
    }
}
