//! The steps of a `/threads/post` run and their progress updates; the record of each step's
//! final state is the message's typed [`crate::model::Analysis`], which each face renders (the
//! WebSocket face in seed 000's camelCase shape).

use serde_json::{Map, Value};
use uuid::Uuid;

pub use crate::model::analysis::{Progress, Step, StepRecord};

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FailureKind {
    /// The question could not be planned.
    NotUnderstood,
    /// No dataset the user may query fits.
    NoDataset,
    /// The SQL failed and could not be repaired.
    QueryFailed,
    /// Storage or another fault of the server.
    Internal,
    /// The language model could not be reached, failed, timed out or sent garbage.
    Provider,
    /// The server shut down (or stopped) before the run finished.
    Interrupted,
}

impl FailureKind {
    /// The entry of the error table a client sees for this failure.
    pub fn code(self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            FailureKind::NotUnderstood => Code::QuestionNotUnderstood,
            FailureKind::NoDataset => Code::DatasetNotFound,
            FailureKind::QueryFailed => Code::QueryFailed,
            FailureKind::Internal => Code::Internal,
            FailureKind::Provider => Code::LlmFailed,
            FailureKind::Interrupted => Code::Interrupted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    /// The server stopped before the run finished.
    pub fn interrupted() -> Failure {
        Failure {
            kind: FailureKind::Interrupted,
            message: INTERRUPTED.into(),
        }
    }

    /// A user cancelled the run before it finished.
    pub fn cancelled() -> Failure {
        Failure {
            kind: FailureKind::Interrupted,
            message: CANCELLED.into(),
        }
    }
}

/// What a message whose analysis a user cancelled says.
pub const CANCELLED: &str = "The analysis was cancelled before it finished. Ask again to run it.";

/// What a message whose analysis was cut off by a stop of the server says.
pub const INTERRUPTED: &str =
    "The analysis was interrupted because the server stopped before it finished. Ask again to run it.";

/// One progress update of one step, as every watcher of the thread receives it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepUpdate {
    pub step: Step,
    pub progress: Progress,
    /// Step fields by their wire names (`sql`, `sql_chunk`, `data`, `data_metadata`, …).
    pub fields: Map<String, Value>,
    pub failure: Option<Failure>,
    pub thread_id: Uuid,
    pub message_id: Uuid,
}

impl StepUpdate {
    /// A piece of the answer's summary as the analyst writes it (for faces that stream it).
    pub fn summary_delta(&self) -> Option<&str> {
        self.fields
            .get("data_summary_chunk")
            .and_then(Value::as_str)
            .filter(|_| self.step == Step::GeneratingDataSummary)
    }

    /// The step's final state, as the message keeps it.
    pub fn record(&self) -> StepRecord {
        StepRecord {
            step: self.step,
            progress: self.progress,
            fields: crate::model::Json::new(Value::Object(self.fields.clone())),
            error: self.failure.as_ref().map(|f| f.message.clone()),
        }
    }
}

/// Receives every update as it happens (the WebSocket layer sends it to the thread's watchers).
pub trait StepSink: Send + Sync {
    fn emit(&self, update: &StepUpdate);
}

/// Splits text into word-sized chunks that concatenate back to exactly the text.
pub fn chunks(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut seen_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            seen_word = seen_word || i > start;
        } else if seen_word {
            pieces.push(&text[start..i]);
            start = i;
            seen_word = false;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_concatenate_to_the_text() {
        for text in [
            "SELECT\n    a,\n    SUM(b) AS c\nFROM t;",
            "  leading space",
            "one",
            "",
            "a  b\n\nc ",
        ] {
            assert_eq!(chunks(text).concat(), text);
        }
        assert_eq!(chunks("The total was"), ["The ", "total ", "was"]);
    }

    #[test]
    fn records_keep_the_final_fields_and_the_error() {
        let mut fields = Map::new();
        fields.insert("sql".into(), "SELECT 1;".into());
        let update = StepUpdate {
            step: Step::GeneratingSql,
            progress: Progress::Completed,
            fields,
            failure: None,
            thread_id: Uuid::nil(),
            message_id: Uuid::nil(),
        };
        let record = update.record();
        assert_eq!(record.step, Step::GeneratingSql);
        assert_eq!(record.fields.value()["sql"], "SELECT 1;");
        assert_eq!(record.error, None);
        assert_eq!(Step::from_name("generatingSql"), Some(Step::GeneratingSql));
    }
}
