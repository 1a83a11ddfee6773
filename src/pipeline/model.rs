//! The model path of a run: when a language model is configured and the built-in planner cannot
//! plan a question, the model writes the SQL, fixes it when it fails, and words the explanation,
//! time frame, title and summary from the actual rows. Every piece streams as it arrives.

use super::steps::{Failure, FailureKind, Step};
use super::{Recorder, Words};
use crate::datasets::{Datasets, QueryResult};
use crate::llm::{ChatMessage, FenceFilter, LlmClient, LlmError};
use crate::model::{Dataset, Message};
use serde_json::Value;

/// Fix attempts the model gets for SQL that fails.
pub const FIX_ATTEMPTS: usize = 3;
/// Rows of a result shown to the model for the narrative steps.
const ROWS_SHOWN: usize = 50;

pub fn failure(err: LlmError) -> Failure {
    Failure {
        kind: FailureKind::Provider,
        message: err.to_string(),
    }
}

/// The dataset's schema, notes and terms, as the model's instructions.
fn schema(dataset: &Dataset) -> String {
    let mut text = format!(
        "You answer data questions by writing one SQLite SELECT statement over the table `{}`{}.\n\
         Dialect: SQLite. Dates are ISO text (YYYY-MM-DD). date_trunc(unit, ts) and to_char(ts, fmt) \
         work as in PostgreSQL; EXTRACT and ::casts do not exist.\nColumns:\n",
        dataset.table,
        dataset.description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
    );
    for column in &dataset.columns {
        text.push_str(&format!("- {} {}", column.name, column.kind.pg_name()));
        if let Some(meaning) = &column.meaning {
            text.push_str(&format!(": {meaning}"));
        }
        if !column.synonyms.is_empty() {
            text.push_str(&format!(" (also called {})", column.synonyms.join(", ")));
        }
        if let Some(unit) = &column.unit {
            text.push_str(&format!(" [{unit}]"));
        }
        text.push('\n');
    }
    if !dataset.terms.is_empty() {
        text.push_str("Business terms:\n");
        for term in &dataset.terms {
            text.push_str(&format!("- {}: {}\n", term.name, term.sql));
        }
    }
    text.push_str("Answer with the SQL only, in one ```sql block.");
    text
}

/// Asks the model which of `candidates` can answer `question`; `None` if it gives no usable answer
/// (the caller then keeps its own choice).
pub async fn pick_dataset<'a>(
    llm: &LlmClient,
    candidates: &[&'a Dataset],
    question: &str,
) -> Option<&'a Dataset> {
    let mut list = String::new();
    for (n, dataset) in candidates.iter().enumerate() {
        let columns: Vec<&str> = dataset.columns.iter().map(|c| c.name.as_str()).collect();
        list.push_str(&format!(
            "{}. {}{} (columns: {})\n",
            n + 1,
            dataset.name,
            dataset
                .description
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default(),
            columns.join(", ")
        ));
    }
    let messages = [
        ChatMessage::system(
            "Pick the dataset that can answer the question. Answer with its number only.",
        ),
        ChatMessage::user(format!("Datasets:\n{list}\nQuestion: {question}")),
    ];
    let answer = llm
        .stream_chat(&messages, &mut |_| {}, &|| false)
        .await
        .ok()?;
    let number: usize = answer
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()?;
    candidates.get(number.checked_sub(1)?).copied()
}

/// Streams a model answer as a step's chunks; returns exactly what was streamed.
async fn stream_step(
    llm: &LlmClient,
    recorder: &mut Recorder<'_>,
    step: Step,
    messages: &[ChatMessage],
    fenced: bool,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<String, LlmError> {
    let mut fences = FenceFilter::new();
    let mut streamed = String::new();
    {
        let mut forward = |piece: &str| {
            let out = if fenced {
                fences.push(piece)
            } else {
                piece.to_string()
            };
            if !out.is_empty() {
                recorder.chunk(step, &out);
                streamed.push_str(&out);
            }
        };
        llm.stream_chat(messages, &mut forward, cancelled).await?;
    }
    let rest = if fenced {
        fences.finish()
    } else {
        String::new()
    };
    if !rest.is_empty() {
        recorder.chunk(step, &rest);
        streamed.push_str(&rest);
    }
    Ok(streamed)
}

/// `generatingSql` by the model, with the thread's earlier turns as context.
pub async fn write_sql(
    llm: &LlmClient,
    recorder: &mut Recorder<'_>,
    dataset: &Dataset,
    history: &[Message],
    question: &str,
    reason: &str,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<String, Failure> {
    let mut messages = vec![ChatMessage::system(schema(dataset))];
    for earlier in history {
        messages.push(ChatMessage::user(earlier.message.clone()));
        if let Some(code) = &earlier.code {
            messages.push(ChatMessage::assistant(format!("```sql\n{code}\n```")));
        }
    }
    messages.push(ChatMessage::user(question));
    match stream_step(
        llm,
        recorder,
        Step::GeneratingSql,
        &messages,
        true,
        cancelled,
    )
    .await
    {
        Ok(sql) => {
            let mut fields = serde_json::Map::new();
            fields.insert("sql".into(), sql.clone().into());
            fields.insert("engine".into(), format!("model {}", llm.model()).into());
            fields.insert("engine_reason".into(), reason.into());
            fields.insert("interpretation".into(), super::restate::BY_MODEL.into());
            recorder.complete(Step::GeneratingSql, fields);
            Ok(sql)
        }
        Err(err) => Err(recorder.fail(Step::GeneratingSql, failure(err))),
    }
}

/// Runs SQL; when it fails the model gets the SQL and the error, up to [`FIX_ATTEMPTS`] times.
pub async fn execute_with_model_fixes(
    llm: &LlmClient,
    datasets: &Datasets,
    dataset: &Dataset,
    sql: String,
    recorder: &mut Recorder<'_>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<(String, QueryResult), Failure> {
    let mut current = sql;
    let mut error = match datasets.query(dataset, &current).await {
        Ok(result) => return Ok((current, result)),
        Err(error) => error,
    };
    for _ in 0..FIX_ATTEMPTS {
        let messages = [
            ChatMessage::system(schema(dataset)),
            ChatMessage::user(format!(
                "This SQL failed:\n```sql\n{current}\n```\nError: {error}\nReturn the corrected statement."
            )),
        ];
        current =
            match stream_step(llm, recorder, Step::FixingSql, &messages, true, cancelled).await {
                Ok(fixed) => fixed,
                Err(err) => return Err(recorder.fail(Step::FixingSql, failure(err))),
            };
        match datasets.query(dataset, &current).await {
            Ok(result) => {
                let mut fields = serde_json::Map::new();
                fields.insert("sql".into(), current.clone().into());
                recorder.complete(Step::FixingSql, fields);
                return Ok((current, result));
            }
            Err(next) => error = next,
        }
    }
    let failure = Failure {
        kind: FailureKind::QueryFailed,
        message: format!("The SQL still failed after {FIX_ATTEMPTS} fixes by the model: {error}."),
    };
    Err(recorder.fail(Step::FixingSql, failure))
}

/// The four narrative steps, worded by the model from the rows; `figures` are facts of the
/// whole result the built-in analyst computed, which the model is told to use.
pub async fn narrate(
    llm: &LlmClient,
    recorder: &mut Recorder<'_>,
    question: &str,
    sql: &str,
    result: &QueryResult,
    figures: Option<&str>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Words, Failure> {
    let rows = super::execute::rows_as_objects(result);
    let shown: Vec<&Value> = rows
        .as_array()
        .map(|r| r.iter().take(ROWS_SHOWN).collect())
        .unwrap_or_default();
    let context = format!(
        "Question: {question}\nSQL:\n{sql}\nResult ({} rows{}):\n{}",
        result.rows.len(),
        if result.rows.len() > ROWS_SHOWN {
            format!(", first {ROWS_SHOWN} shown")
        } else {
            String::new()
        },
        serde_json::to_string(&shown).unwrap_or_default()
    );
    let context = match figures {
        Some(figures) => format!(
            "{context}\nFigures computed over the whole result (state these; never add up \
             averages or rows yourself): {figures}"
        ),
        None => context,
    };
    let system = ChatMessage::system(
        "You describe query results to a business user. Be brief and use only numbers that are in the result.",
    );
    let mut out = Vec::with_capacity(4);
    for (step, ask) in [
        (Step::GeneratingDataExplanation, "In one or two sentences, say how this data was pulled."),
        (Step::GeneratingTimeFrame, "Name the time frame the result covers in a few words, such as All time, Last 30 days or 2023. Answer with the phrase only."),
        (Step::GeneratingMetricTitle, "Give the result a short title in Title Case, such as Total Sales by Month. Answer with the title only."),
        (Step::GeneratingDataSummary, "Summarize the result in two or three sentences with its key numbers."),
    ] {
        let messages = [system.clone(), ChatMessage::user(format!("{context}\n\n{ask}"))];
        match stream_step(llm, recorder, step, &messages, false, cancelled).await {
            Ok(text) => {
                let mut fields = serde_json::Map::new();
                fields.insert(step.field().into(), text.clone().into());
                recorder.complete(step, fields);
                out.push(text);
            }
            Err(err) => return Err(recorder.fail(step, failure(err))),
        }
    }
    let [explanation, time_frame, title, summary]: [String; 4] =
        out.try_into().expect("four steps");
    Ok(Words {
        explanation,
        time_frame: time_frame.trim().to_string(),
        title: title.trim().trim_matches('"').to_string(),
        summary,
    })
}
