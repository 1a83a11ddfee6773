//! The `/threads/post` analysis: the steps of seed 000, in order, streamed to the thread's
//! watchers and persisted into the message.
//!
//! - `steps`: step names, progress updates, the persisted `context.steps` shape.
//! - `text`, `timeframe`, `compare`, `planner`: reading a question against a dataset into a plan;
//!   `coverage`: every word of it accounted for, or the question is refused naming the rest.
//! - `sqlgen`: the plan as SQL; `repair`: bounded fixes of SQL that fails (`fixingSql`).
//! - `narrate`: explanation, time frame, metric title, summary and chart from plan and rows.
//!
//! Order: identifyingDataset, identifyingTerms, generatingSql, fixingSql (only when the SQL
//! failed), fetchingData, generatingDataExplanation, generatingTimeFrame, generatingMetricTitle,
//! generatingDataSummary. A failed step ends the run; the message keeps what was done.

pub mod compare;
pub mod coverage;
pub mod facts;
pub mod model;
pub mod narrate;
pub mod planner;
pub mod repair;
pub mod restate;
pub mod sqlgen;
pub mod steps;
pub mod summary;
pub mod text;
pub mod timeframe;

pub use steps::{Failure, FailureKind, Progress, Step, StepSink, StepUpdate};

use crate::datasets::{Datasets, QueryResult};
use crate::llm::LlmClient;
use crate::model::{Dataset, Json, Thread, TitleSource, User};
use crate::store::{self, Store};
use chrono::Utc;
use planner::Plan;
use serde_json::{json, Map, Value};
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

/// The worded parts of an answer, by the built-in narrator or the model.
pub struct Words {
    pub explanation: String,
    pub time_frame: String,
    pub title: String,
    pub summary: String,
}

/// What a completed run found.
struct Answer {
    /// The built-in planner's plan; `None` when the model wrote the SQL.
    plan: Option<Plan>,
    /// What was computed, in plain words (see `restate`).
    interpretation: String,
    sql: String,
    result: QueryResult,
    words: Words,
}

/// Emits updates and remembers each step's final state for `context.steps`.
pub struct Recorder<'a> {
    sink: &'a dyn StepSink,
    thread_id: Uuid,
    message_id: Uuid,
    steps: Vec<Value>,
}

impl<'a> Recorder<'a> {
    pub fn new(sink: &'a dyn StepSink, thread_id: Uuid, message_id: Uuid) -> Self {
        Recorder {
            sink,
            thread_id,
            message_id,
            steps: Vec::new(),
        }
    }

    fn emit(
        &mut self,
        step: Step,
        progress: Progress,
        fields: Map<String, Value>,
        failure: Option<Failure>,
    ) {
        let update = StepUpdate {
            step,
            progress,
            fields,
            failure,
            thread_id: self.thread_id,
            message_id: self.message_id,
        };
        self.sink.emit(&update);
        if progress != Progress::InProgress {
            self.steps.push(update.persisted());
        }
    }

    fn start(&mut self, step: Step) {
        let mut fields = Map::new();
        fields.insert(step.field().into(), Value::Null);
        self.emit(step, Progress::InProgress, fields, None);
    }

    fn complete(&mut self, step: Step, fields: Map<String, Value>) {
        self.emit(step, Progress::Completed, fields, None);
    }

    fn fail(&mut self, step: Step, failure: Failure) -> Failure {
        let mut fields = Map::new();
        fields.insert(step.field().into(), Value::Null);
        self.emit(step, Progress::Failed, fields, Some(failure.clone()));
        failure
    }

    /// One `<field>_chunk` of a step that is streaming.
    pub fn chunk(&mut self, step: Step, text: &str) {
        let field = step.field();
        let mut fields = Map::new();
        fields.insert(field.into(), Value::Null);
        fields.insert(format!("{field}_chunk"), text.into());
        self.emit(step, Progress::InProgress, fields, None);
    }

    /// Streams `text` as `<field>_chunk`s, then completes the step with the whole text (and
    /// `extra` fields).
    fn stream(&mut self, step: Step, text: &str, extra: Map<String, Value>) {
        for chunk in steps::chunks(text) {
            self.chunk(step, chunk);
        }
        let mut fields = extra;
        fields.insert(step.field().into(), text.into());
        self.complete(step, fields);
    }

    pub fn into_steps(self) -> Vec<Value> {
        self.steps
    }
}

/// Answers `job`, streaming every step to `sink`, and stores the result in the message.
/// With `llm`, questions the built-in planner cannot plan go to the model.
///
/// Returns the thread as it is after the run, or `None` if it was deleted meanwhile.
pub async fn run(
    store: &Store,
    datasets: &Datasets,
    llm: Option<&LlmClient>,
    job: &Job,
    sink: &dyn StepSink,
) -> Result<Option<Thread>, store::Error> {
    let mut recorder = Recorder::new(sink, job.thread_id, job.message_id);
    let mut dataset = None;
    let outcome = analyze(store, datasets, llm, job, &mut recorder, &mut dataset).await;
    persist(store, job, dataset.as_ref(), recorder.into_steps(), outcome).await
}

async fn analyze(
    store: &Store,
    datasets: &Datasets,
    llm: Option<&LlmClient>,
    job: &Job,
    recorder: &mut Recorder<'_>,
    chosen: &mut Option<Dataset>,
) -> Result<Answer, Failure> {
    let internal = |err: &dyn std::fmt::Display| Failure {
        kind: FailureKind::Internal,
        message: format!("the server could not read its data: {err}"),
    };

    // The thread's previous answer, for follow-ups.
    let history = store.messages(job.thread_id).map_err(|e| internal(&e))?;
    let previous = history
        .iter()
        .rev()
        .filter(|m| m.id != job.message_id)
        .find_map(|m| Some((m.plan.as_ref()?, m.dataset_id?)))
        .and_then(|(plan, dataset_id)| {
            Some((
                serde_json::from_value::<Plan>(plan.0.clone()).ok()?,
                dataset_id,
            ))
        });

    recorder.start(Step::IdentifyingDataset);
    let choice = choose_dataset(datasets, llm, job, previous.as_ref().map(|p| p.1)).await;
    let (dataset, chosen_by) = match choice {
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
    *chosen = Some(dataset.clone());

    recorder.start(Step::IdentifyingTerms);
    let profile = match datasets.profile(&dataset).await {
        Ok(profile) => profile,
        Err(err) => return Err(recorder.fail(Step::IdentifyingTerms, internal(&err))),
    };
    let previous_plan = previous
        .as_ref()
        .filter(|(_, dataset_id)| *dataset_id == dataset.id)
        .map(|(plan, _)| plan);
    let today = Utc::now().date_naive();
    let planned = planner::plan(&job.prompt, &dataset, &profile, previous_plan, today);
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

    let plan = match (planned, llm) {
        (Ok(plan), _) => plan,
        // The model takes the questions the built-in planner cannot plan.
        (Err(_), Some(llm)) => {
            let earlier: Vec<_> = history
                .iter()
                .filter(|m| m.id != job.message_id)
                .cloned()
                .collect();
            let cancelled = || thread_gone(store, job.thread_id);
            let sql = model::write_sql(llm, recorder, &dataset, &earlier, &job.prompt, &cancelled)
                .await?;
            let (sql, result) =
                model::execute_with_model_fixes(llm, datasets, &dataset, sql, recorder, &cancelled)
                    .await?;
            fetched(recorder, &result);
            let words =
                model::narrate(llm, recorder, &job.prompt, &sql, &result, &cancelled).await?;
            return Ok(Answer {
                plan: None,
                interpretation: restate::BY_MODEL.to_string(),
                sql,
                result,
                words,
            });
        }
        (Err(err), None) => {
            let failure = Failure {
                kind: FailureKind::NotUnderstood,
                message: err.explain(),
            };
            return Err(recorder.fail(Step::GeneratingSql, failure));
        }
    };
    let sql = sqlgen::sql(&plan);
    let interpretation = restate::restate(&plan);
    let mut fields = Map::new();
    fields.insert("engine".into(), "built-in".into());
    fields.insert("interpretation".into(), interpretation.clone().into());
    recorder.stream(Step::GeneratingSql, &sql, fields);

    let (sql, result) = execute_with_repairs(datasets, &dataset, sql, recorder).await?;

    fetched(recorder, &result);
    let mut plan = plan;
    plan.remember_named(&result);

    // With a model configured it words the answer; the built-in planner kept the SQL.
    let words = match llm {
        Some(llm) => {
            let cancelled = || thread_gone(store, job.thread_id);
            model::narrate(llm, recorder, &job.prompt, &sql, &result, &cancelled).await?
        }
        None => {
            let facts = result_facts(datasets, &dataset, &plan, &sql, &result).await;
            built_in_words(recorder, &plan, &dataset, &facts, &result)
        }
    };
    Ok(Answer {
        plan: Some(plan),
        interpretation,
        sql,
        result,
        words,
    })
}

/// The built-in narrator's explanation, time frame, title and summary, streamed in order.
fn built_in_words(
    recorder: &mut Recorder<'_>,
    plan: &Plan,
    dataset: &Dataset,
    facts: &facts::Facts,
    result: &QueryResult,
) -> Words {
    let words = Words {
        explanation: narrate::explanation(plan, &dataset.name),
        time_frame: narrate::time_frame(plan),
        title: narrate::metric_title(plan),
        summary: summary::summary(plan, result, facts),
    };
    recorder.stream(
        Step::GeneratingDataExplanation,
        &words.explanation,
        Map::new(),
    );
    recorder.stream(Step::GeneratingTimeFrame, &words.time_frame, Map::new());
    recorder.stream(Step::GeneratingMetricTitle, &words.title, Map::new());
    recorder.stream(Step::GeneratingDataSummary, &words.summary, Map::new());
    words
}

/// The facts a summary states, of the whole result: from its rows, or by SQL over the same
/// query when the rows were cut at the cap.
async fn result_facts(
    datasets: &Datasets,
    dataset: &Dataset,
    plan: &Plan,
    sql: &str,
    result: &QueryResult,
) -> facts::Facts {
    let Some(shape) = facts::Shape::of_plan(result, plan) else {
        return facts::Facts::default();
    };
    if result.truncated {
        let whole = datasets.query(dataset, &facts::sql(sql, &shape)).await;
        if let Some(facts) = whole.ok().as_ref().and_then(facts::from_sql_result) {
            return facts;
        }
        tracing::warn!(
            "the facts of a capped result could not be computed; summarizing the rows kept"
        );
        return facts::Facts {
            partial: true,
            ..facts::from_rows(result, &shape)
        };
    }
    facts::from_rows(result, &shape)
}

/// Whether the job's thread was deleted (which cancels a model's work on it).
fn thread_gone(store: &Store, thread_id: Uuid) -> bool {
    store
        .thread(thread_id)
        .ok()
        .flatten()
        .is_none_or(|thread| thread.deleted_at.is_some())
}

/// The `fetchingData` step: the rows and their metadata.
fn fetched(recorder: &mut Recorder<'_>, result: &QueryResult) {
    recorder.start(Step::FetchingData);
    let mut fields = Map::new();
    fields.insert("data".into(), rows_as_objects(result));
    fields.insert("data_metadata".into(), data_metadata(result));
    recorder.complete(Step::FetchingData, fields);
}

/// Runs SQL; when it fails, tries bounded repairs as `fixingSql` steps.
///
/// Returns the SQL that ran (the repaired one if it was repaired) and its result.
pub async fn execute_with_repairs(
    datasets: &Datasets,
    dataset: &Dataset,
    sql: String,
    recorder: &mut Recorder<'_>,
) -> Result<(String, QueryResult), Failure> {
    let mut error = match datasets.query(dataset, &sql).await {
        Ok(result) => return Ok((sql, result)),
        Err(error) => error,
    };
    let mut current = sql;
    let mut changes = Vec::new();
    for _ in 0..repair::MAX_ATTEMPTS {
        let Some(fix) = repair::repair(&current, &error, dataset) else {
            break;
        };
        changes.push(fix.change.clone());
        for chunk in steps::chunks(&fix.sql) {
            let mut fields = Map::new();
            fields.insert("sql".into(), Value::Null);
            fields.insert("sql_chunk".into(), chunk.into());
            recorder.emit(Step::FixingSql, Progress::InProgress, fields, None);
        }
        current = fix.sql;
        match datasets.query(dataset, &current).await {
            Ok(result) => {
                let mut fields = Map::new();
                fields.insert("sql".into(), current.clone().into());
                fields.insert("changes".into(), json!(changes));
                recorder.complete(Step::FixingSql, fields);
                return Ok((current, result));
            }
            Err(next) => error = next,
        }
    }
    let tried = if changes.is_empty() {
        "no repair applies to this error".to_string()
    } else {
        format!("tried: {}", changes.join("; "))
    };
    let failure = Failure {
        kind: FailureKind::QueryFailed,
        message: format!("The SQL failed: {error} ({tried})."),
    };
    Err(recorder.fail(Step::FixingSql, failure))
}

/// The dataset to query and who chose it: the user, the thread's earlier answer, the built-in
/// scoring, or (when the scoring ties and a model is configured) the model.
async fn choose_dataset(
    datasets: &Datasets,
    llm: Option<&LlmClient>,
    job: &Job,
    previous: Option<Uuid>,
) -> Result<(Dataset, &'static str), Failure> {
    let visible = datasets.visible_to(&job.user).map_err(|err| Failure {
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

/// Rows as objects keyed by column name, the shape of `fetchingData`'s `data`.
pub fn rows_as_objects(result: &QueryResult) -> Value {
    let rows = result
        .rows
        .iter()
        .map(|row| {
            let object: Map<String, Value> = result
                .columns
                .iter()
                .zip(row)
                .map(|(column, value)| (column.name.clone(), value.clone()))
                .collect();
            Value::Object(object)
        })
        .collect();
    Value::Array(rows)
}

pub fn data_metadata(result: &QueryResult) -> Value {
    let columns: Vec<Value> = result
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind.pg_name()}))
        .collect();
    json!({
        "column_count": result.columns.len(),
        "column_metadata": columns,
        "row_count": result.rows.len(),
        "row_cap": result.row_cap,
        "truncated": result.truncated,
    })
}

/// Writes the run's outcome into the message (if its thread still exists).
async fn persist(
    store: &Store,
    job: &Job,
    dataset: Option<&Dataset>,
    steps: Vec<Value>,
    outcome: Result<Answer, Failure>,
) -> Result<Option<Thread>, store::Error> {
    let now = Utc::now();
    let context = Json(json!({ "steps": steps }));
    store
        .write_threads(|tx| {
            let Some(mut thread) = tx.thread::<store::Error>(job.thread_id)? else {
                return Ok(None);
            };
            if thread.deleted_at.is_some() {
                return Ok(None);
            }
            let Some(mut message) = tx.message::<store::Error>(job.thread_id, job.message_id)?
            else {
                return Ok(None);
            };
            message.dataset_id = dataset.map(|d| d.id);
            message.context = Some(context.clone());
            message.updated_at = Some(now);
            match &outcome {
                Ok(answer) => {
                    let (chart, recommendations) = match &answer.plan {
                        Some(plan) => narrate::chart(plan, &answer.result),
                        None => narrate::chart_for_result(&answer.result),
                    };
                    message.code = Some(answer.sql.clone());
                    message.title = Some(answer.words.title.clone());
                    message.time_frame = Some(answer.words.time_frame.clone());
                    message.set_answer(
                        &answer.words.summary,
                        &answer.words.explanation,
                        &answer.interpretation,
                    );
                    message.data_metadata = Some(Json(data_metadata(&answer.result)));
                    message.chart_config = Some(Json(chart));
                    message.chart_recommendations = Some(Json(recommendations));
                    message.plan = answer
                        .plan
                        .as_ref()
                        .and_then(|p| serde_json::to_value(p).ok())
                        .map(Json);
                    if thread.titled_by == TitleSource::Prompt {
                        thread.title = answer.words.title.clone();
                        thread.titled_by = TitleSource::Analysis;
                    }
                }
                Err(failure) => {
                    message.set_responses(&[&failure.message]);
                }
            }
            tx.replace_message(&message)?;
            thread.last_edited = now;
            thread.updated_at = Some(now);
            tx.put_thread(&thread)?;
            Ok(Some(thread))
        })
        .await
}
