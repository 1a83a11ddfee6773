//! Stage 4, word: the explanation, time frame, title and summary. The built-in narrator words
//! them from the plan and the facts of the whole result; with a model configured, the model
//! words them from the rows, given those facts when the built-in planner wrote the SQL.

use super::author::Author;
use super::execute::Ran;
use super::planner::Plan;
use super::{facts, model, narrate, summary, Context, Failure, FailureKind, Recorder, Step};
use crate::datasets::{Datasets, QueryResult};
use crate::model::Dataset;
use serde_json::Map;

/// The worded parts of an answer, by the built-in narrator or the model.
pub struct Words {
    pub explanation: String,
    pub time_frame: String,
    pub title: String,
    pub summary: String,
}

pub async fn words(
    ctx: &Context<'_>,
    recorder: &mut Recorder<'_>,
    dataset: &Dataset,
    ran: &Ran,
) -> Result<Words, Failure> {
    let plan = match &ran.draft.author {
        Author::BuiltIn(plan) => Some(plan.as_ref()),
        Author::Model { .. } => None,
    };
    let figures = match plan {
        Some(plan) => {
            let facts =
                result_facts(ctx.datasets, dataset, plan, &ran.draft.sql, &ran.result).await;
            Some((plan, facts))
        }
        None => None,
    };
    match (ctx.llm, figures) {
        (Some(llm), figures) => {
            let stated = figures
                .as_ref()
                .map(|(plan, facts)| summary::summary(plan, &ran.result, facts));
            let cancelled = || ctx.cancelled();
            model::narrate(
                llm,
                recorder,
                &ctx.job.prompt,
                &ran.draft.sql,
                &ran.result,
                stated.as_deref(),
                &cancelled,
            )
            .await
        }
        (None, Some((plan, facts))) => Ok(built_in(recorder, plan, dataset, &facts, &ran.result)),
        // Only a configured model writes SQL, so this is a fault of the server.
        (None, None) => Err(Failure {
            kind: FailureKind::Internal,
            message: "the model that wrote the SQL is no longer configured".into(),
        }),
    }
}

/// The built-in narrator's explanation, time frame, title and summary, streamed in order.
fn built_in(
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
