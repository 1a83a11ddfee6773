//! Stage 2, author: who writes the SQL, decided once, with the reason recorded in the
//! `generatingSql` step. The built-in planner when it read every word of the question; else the
//! model, when one is configured; else the question is refused, naming what was not understood.

use super::planner::{Plan, PlanError};
use super::understand::Chosen;
use super::{model, restate, sqlgen, Context, Failure, FailureKind, Recorder, Step};
use serde_json::Map;

pub enum Author {
    BuiltIn(Box<Plan>),
    /// The model wrote the SQL; `reason` is why the built-in planner did not.
    Model {
        reason: String,
    },
}

/// The SQL to run, who wrote it, and what it computes in plain words.
pub struct Draft {
    pub author: Author,
    pub sql: String,
    pub interpretation: String,
}

/// `generatingSql`.
pub async fn draft(
    ctx: &Context<'_>,
    recorder: &mut Recorder<'_>,
    chosen: &Chosen,
    planned: Result<Plan, PlanError>,
) -> Result<Draft, Failure> {
    match (planned, ctx.llm) {
        (Ok(plan), _) => {
            let sql = sqlgen::sql(&plan);
            let interpretation = restate::restate(&plan);
            let mut fields = Map::new();
            fields.insert("engine".into(), "built-in".into());
            fields.insert(
                "engine_reason".into(),
                "the built-in planner read every word of the question".into(),
            );
            fields.insert("interpretation".into(), interpretation.clone().into());
            recorder.stream(Step::GeneratingSql, &sql, fields);
            Ok(Draft {
                author: Author::BuiltIn(Box::new(plan)),
                sql,
                interpretation,
            })
        }
        (Err(err), Some(llm)) => {
            let reason = err.explain();
            let cancelled = || ctx.cancelled();
            let sql = model::write_sql(
                llm,
                recorder,
                &chosen.dataset,
                &chosen.earlier,
                &ctx.job.prompt,
                &reason,
                &cancelled,
            )
            .await?;
            Ok(Draft {
                author: Author::Model { reason },
                sql,
                interpretation: restate::BY_MODEL.to_string(),
            })
        }
        (Err(err), None) => {
            let failure = Failure {
                kind: FailureKind::NotUnderstood,
                message: err.explain(),
            };
            // The same words as data, so a client can mark them and offer the questions.
            let mut fields = Map::new();
            fields.insert("not_understood".into(), err.leftover.clone().into());
            fields.insert("suggested_questions".into(), err.examples.clone().into());
            Err(recorder.fail_with(Step::GeneratingSql, failure, fields))
        }
    }
}
