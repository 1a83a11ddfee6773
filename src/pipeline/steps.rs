//! The steps of a `/threads/post` run, their progress updates, and the persisted form of each
//! step in the message's `context.steps` (the shape of seed 000's `getThreadState`).

use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    IdentifyingDataset,
    IdentifyingTerms,
    GeneratingSql,
    FixingSql,
    FetchingData,
    GeneratingDataExplanation,
    GeneratingTimeFrame,
    GeneratingMetricTitle,
    GeneratingDataSummary,
}

impl Step {
    /// The step's event name.
    pub fn name(self) -> &'static str {
        match self {
            Step::IdentifyingDataset => "identifyingDataset",
            Step::IdentifyingTerms => "identifyingTerms",
            Step::GeneratingSql => "generatingSql",
            Step::FixingSql => "fixingSql",
            Step::FetchingData => "fetchingData",
            Step::GeneratingDataExplanation => "generatingDataExplanation",
            Step::GeneratingTimeFrame => "generatingTimeFrame",
            Step::GeneratingMetricTitle => "generatingMetricTitle",
            Step::GeneratingDataSummary => "generatingDataSummary",
        }
    }

    /// The field a step produces: null while `<field>_chunk`s stream, complete at the end.
    pub fn field(self) -> &'static str {
        match self {
            Step::IdentifyingDataset => "dataset",
            Step::IdentifyingTerms => "terms",
            Step::GeneratingSql | Step::FixingSql => "sql",
            Step::FetchingData => "data",
            Step::GeneratingDataExplanation => "data_explanation",
            Step::GeneratingTimeFrame => "time_frame",
            Step::GeneratingMetricTitle => "metric_title",
            Step::GeneratingDataSummary => "data_summary",
        }
    }

    /// Whether the step streams its field in chunks.
    pub fn chunked(self) -> bool {
        !matches!(
            self,
            Step::IdentifyingDataset | Step::IdentifyingTerms | Step::FetchingData
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    InProgress,
    Completed,
    Failed,
}

impl Progress {
    pub fn name(self) -> &'static str {
        match self {
            Progress::InProgress => "inProgress",
            Progress::Completed => "completed",
            Progress::Failed => "failed",
        }
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// One progress update of one step, as every watcher of the thread receives it.
#[derive(Debug, Clone, PartialEq)]
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
    /// The step as persisted in `context.steps`: `{"<step>": {camelCase fields, progress, threadId, messageId}}`.
    pub fn persisted(&self) -> Value {
        let mut body = Map::new();
        for (key, value) in &self.fields {
            body.insert(camel_case(key), value.clone());
        }
        if self.step.chunked() {
            body.insert(
                camel_case(&format!("{}_chunk", self.step.field())),
                Value::Null,
            );
        }
        body.insert("progress".into(), self.progress.name().into());
        if let Some(failure) = &self.failure {
            body.insert("error".into(), failure.message.clone().into());
        }
        body.insert("threadId".into(), self.thread_id.to_string().into());
        body.insert("messageId".into(), self.message_id.to_string().into());
        let mut step = Map::new();
        step.insert(self.step.name().into(), Value::Object(body));
        Value::Object(step)
    }
}

/// Receives every update as it happens (the WebSocket layer sends it to the thread's watchers).
pub trait StepSink: Send + Sync {
    fn emit(&self, update: &StepUpdate);
}

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
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
    fn persisted_steps_use_camel_case() {
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
        let persisted = update.persisted();
        assert_eq!(persisted["generatingSql"]["sql"], "SELECT 1;");
        assert!(persisted["generatingSql"]["sqlChunk"].is_null());
        assert_eq!(persisted["generatingSql"]["progress"], "completed");
    }
}
