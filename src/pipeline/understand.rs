//! Stage 1, understand: which dataset the question is about (the user's pick, the thread's,
//! or the one the question names) and the built-in planner's reading of it, which either
//! accounts for every word or says which it could not place.

use super::planner::{self, Plan, PlanError};
use super::{model, Context, Failure, FailureKind, Recorder, Step};
use crate::model::{Dataset, Message};
use chrono::Utc;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The thread so far and the dataset chosen for the question.
pub struct Chosen {
    pub dataset: Dataset,
    /// The thread's earlier messages, oldest first (the model reads them).
    pub earlier: Vec<Message>,
    /// The plan of the thread's last answer over this dataset, for follow-ups.
    pub previous: Option<Plan>,
}

/// `identifyingDataset`: the dataset to query, and the thread it continues.
pub async fn dataset(ctx: &Context<'_>, recorder: &mut Recorder<'_>) -> Result<Chosen, Failure> {
    recorder.start(Step::IdentifyingDataset);
    let history = ctx
        .store
        .messages(ctx.job.thread_id)
        .await
        .map_err(|e| recorder.fail(Step::IdentifyingDataset, internal(&e)))?;
    let earlier: Vec<Message> = history
        .iter()
        .filter(|m| m.id != ctx.job.message_id)
        .cloned()
        .collect();
    // The thread's previous answer, for follow-ups.
    let previous = earlier
        .iter()
        .rev()
        .find_map(|m| Some((m.plan.as_ref()?, m.dataset_id?)))
        .and_then(|(plan, dataset_id)| {
            Some((
                serde_json::from_value::<Plan>(plan.value().clone()).ok()?,
                dataset_id,
            ))
        });
    let (dataset, chosen_by) = match choose(ctx, previous.as_ref().map(|p| p.1)).await {
        Ok(choice) => choice,
        Err(failure) => return Err(recorder.fail(Step::IdentifyingDataset, failure)),
    };
    let mut fields = Map::new();
    fields.insert(
        "dataset".into(),
        json!({"id": dataset.id, "name": dataset.name}),
    );
    fields.insert("chosen_by".into(), chosen_by.into());
    recorder.complete(Step::IdentifyingDataset, fields);
    let previous = previous
        .filter(|(_, dataset_id)| *dataset_id == dataset.id)
        .map(|(plan, _)| plan);
    Ok(Chosen {
        dataset,
        earlier,
        previous,
    })
}

/// `identifyingTerms`: the planner's reading of the question over the chosen dataset.
pub async fn question(
    ctx: &Context<'_>,
    recorder: &mut Recorder<'_>,
    chosen: &Chosen,
) -> Result<Result<Plan, PlanError>, Failure> {
    recorder.start(Step::IdentifyingTerms);
    let dataset = &chosen.dataset;
    let profile = match ctx.datasets.profile(dataset).await {
        Ok(profile) => profile,
        Err(err) => return Err(recorder.fail(Step::IdentifyingTerms, internal(&err))),
    };
    let today = Utc::now().date_naive();
    // Reading the question is CPU work; off the async workers, it never holds up the sockets.
    let (prompt, owned, previous) = (
        ctx.job.prompt.clone(),
        dataset.clone(),
        chosen.previous.clone(),
    );
    let planned = tokio::task::spawn_blocking(move || {
        planner::plan(&prompt, &owned, &profile, previous.as_ref(), today)
    })
    .await
    .map_err(|err| recorder.fail(Step::IdentifyingTerms, internal(&err)))?;
    let terms: Vec<Value> = match &planned {
        Ok(plan) => dataset
            .terms
            .iter()
            .filter(|term| plan.measure.term_sql.as_deref() == Some(term.sql.as_str()))
            .map(|term| json!({"id": term.id, "name": term.name}))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut fields = Map::new();
    fields.insert("terms".into(), Value::Array(terms));
    recorder.complete(Step::IdentifyingTerms, fields);
    Ok(planned)
}

fn internal(err: &dyn std::fmt::Display) -> Failure {
    Failure {
        kind: FailureKind::Internal,
        message: format!("the server could not read its data: {err}"),
    }
}

/// The dataset to query and who chose it: the user, the thread's earlier answer, the built-in
/// scoring, or (when the scoring ties and a model is configured) the model.
async fn choose(
    ctx: &Context<'_>,
    previous: Option<Uuid>,
) -> Result<(Dataset, &'static str), Failure> {
    let (datasets, llm, job) = (ctx.datasets, ctx.llm, ctx.job);
    let visible = datasets
        .visible_to(&job.user)
        .await
        .map_err(|err| Failure {
            kind: FailureKind::Internal,
            message: format!("the server could not read its datasets: {err}"),
        })?;
    let wanted = job.dataset_id.or(previous);
    if let Some(id) = wanted {
        if let Some(dataset) = visible.iter().find(|d| d.id == id) {
            let by = if job.dataset_id.is_some() {
                "user"
            } else {
                "thread"
            };
            return Ok((dataset.clone(), by));
        }
        if job.dataset_id.is_some() {
            return Err(Failure {
                kind: FailureKind::NoDataset,
                message: format!("dataset {id} was not found"),
            });
        }
    }
    // One dataset leaves nothing to choose.
    if let [only] = visible.as_slice() {
        return Ok((only.clone(), "built-in"));
    }
    let mut scored: Vec<(usize, &Dataset)> = Vec::new();
    for dataset in &visible {
        let Ok(profile) = datasets.profile(dataset).await else {
            continue;
        };
        scored.push((planner::relevance(&job.prompt, dataset, &profile), dataset));
    }
    let Some(top) = scored.iter().map(|(score, _)| *score).max() else {
        return Err(Failure {
            kind: FailureKind::NoDataset,
            message: "there are no datasets to query yet; add one with `skein dataset add NAME --csv FILE`".into(),
        });
    };
    let tied: Vec<&Dataset> = scored
        .iter()
        .filter(|(s, _)| *s == top)
        .map(|(_, d)| *d)
        .collect();
    if tied.len() == 1 {
        return Ok((tied[0].clone(), "built-in"));
    }
    if let Some(llm) = llm {
        if let Some(dataset) = model::pick_dataset(llm, &tied, &job.prompt).await {
            return Ok((dataset.clone(), "model"));
        }
    }
    // Guessing between datasets that fit equally would answer from the wrong data half the time.
    let names: Vec<String> = tied.iter().map(|d| format!("\"{}\"", d.name)).collect();
    let reason = if top == 0 {
        "none of them has a column, value or term named in it"
    } else {
        "it fits them equally well"
    };
    Err(Failure {
        kind: FailureKind::NotUnderstood,
        message: format!(
            "I couldn't tell which dataset this question is about: {reason}. Pick one of {} \
             with the dataset picker, or name a column of the one you mean.",
            names.join(", ")
        ),
    })
}
