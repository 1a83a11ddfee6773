//! What the analyst did for a message, as the message keeps it: a typed, versioned record of
//! each step's final state. Faces render it (the WebSocket face as seed 000's camelCase
//! `context.steps`), so changing a wire format never changes what is stored.
//!
//! Records are encoded with bincode as part of the message, so their shape is part of the store
//! format: never reorder or remove enum variants or fields; add new ones at the end with a new
//! [`ANALYSIS_VERSION`] (and a store migration when old records need filling in).

use super::Json;
use serde::{Deserialize, Serialize};

/// The version of [`Analysis`] records this build writes.
pub const ANALYSIS_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The record version that wrote it.
    pub version: u16,
    /// The final state of each step, in the order the steps ran.
    pub steps: Vec<StepRecord>,
}

impl Analysis {
    pub fn new(steps: Vec<StepRecord>) -> Analysis {
        Analysis {
            version: ANALYSIS_VERSION,
            steps,
        }
    }

    /// Replaces the records of the same steps with `new`, appending the others.
    pub fn merge(&mut self, new: &[StepRecord]) {
        for step in new {
            match self.steps.iter_mut().find(|s| s.step == step.step) {
                Some(slot) => *slot = step.clone(),
                None => self.steps.push(step.clone()),
            }
        }
        self.version = ANALYSIS_VERSION;
    }
}

/// One step's final state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: Step,
    pub progress: Progress,
    /// What the step produced, by the fields' snake_case names (`sql`, `data`,
    /// `data_metadata`, …): a JSON object, since each step's output has its own shape.
    pub fields: Json,
    /// Why the step failed, in words for people.
    pub error: Option<String>,
}

/// The steps of an analysis (in the order of the variants: never reorder them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub const ALL: [Step; 9] = [
        Step::IdentifyingDataset,
        Step::IdentifyingTerms,
        Step::GeneratingSql,
        Step::FixingSql,
        Step::FetchingData,
        Step::GeneratingDataExplanation,
        Step::GeneratingTimeFrame,
        Step::GeneratingMetricTitle,
        Step::GeneratingDataSummary,
    ];

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

    /// The step's name for people, as progress lists show it.
    pub fn label(self) -> &'static str {
        match self {
            Step::IdentifyingDataset => "Dataset",
            Step::IdentifyingTerms => "Terms",
            Step::GeneratingSql => "SQL",
            Step::FixingSql => "Fixing SQL",
            Step::FetchingData => "Data",
            Step::GeneratingDataExplanation => "Explanation",
            Step::GeneratingTimeFrame => "Time frame",
            Step::GeneratingMetricTitle => "Title",
            Step::GeneratingDataSummary => "Summary",
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

    /// The step of an event name.
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.name() == name)
    }

    /// Whether the step streams its field in chunks.
    pub fn chunked(self) -> bool {
        !matches!(
            self,
            Step::IdentifyingDataset | Step::IdentifyingTerms | Step::FetchingData
        )
    }
}

/// How far a step got (in the order of the variants: never reorder them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    pub fn from_name(name: &str) -> Option<Progress> {
        [Progress::InProgress, Progress::Completed, Progress::Failed]
            .into_iter()
            .find(|progress| progress.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding is the store format: a record written now must read back exactly, and the
    /// enums' variant numbers must not move.
    #[test]
    fn records_round_trip_through_the_store_codec() {
        let record = Analysis::new(vec![StepRecord {
            step: Step::FetchingData,
            progress: Progress::Failed,
            fields: Json::new(
                serde_json::json!({"data": [{"a": 1}], "data_metadata": {"row_count": 1}}),
            ),
            error: Some("no such column".into()),
        }]);
        let config = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&record, config).unwrap();
        let (back, _): (Analysis, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(back, record);
        assert_eq!(
            bincode::serde::encode_to_vec(Step::FetchingData, config).unwrap(),
            [4]
        );
        assert_eq!(
            bincode::serde::encode_to_vec(Progress::Failed, config).unwrap(),
            [2]
        );
    }
}
