//! The step recorder: emits each update of a run to its watchers as it happens and keeps each
//! step's final state for the message's `context.steps`.

use super::steps::{self, Failure, Progress, Step, StepRecord, StepSink, StepUpdate};
use serde_json::{Map, Value};
use std::time::Instant;
use uuid::Uuid;

/// Emits updates and remembers each step's final state for `context.steps`.
pub struct Recorder<'a> {
    sink: &'a dyn StepSink,
    thread_id: Uuid,
    message_id: Uuid,
    steps: Vec<StepRecord>,
    /// The step under way and when it started; steps run one after another.
    current: Option<(Step, Instant)>,
    /// When the last step ended (or the run began): a step that only completes started there.
    mark: Instant,
}

impl<'a> Recorder<'a> {
    pub fn new(sink: &'a dyn StepSink, thread_id: Uuid, message_id: Uuid) -> Self {
        Recorder {
            sink,
            thread_id,
            message_id,
            steps: Vec::new(),
            current: None,
            mark: Instant::now(),
        }
    }

    pub(super) fn emit(
        &mut self,
        step: Step,
        progress: Progress,
        fields: Map<String, Value>,
        failure: Option<Failure>,
    ) {
        let mut fields = fields;
        let now = Instant::now();
        if progress == Progress::InProgress {
            if self.current.map(|(current, _)| current) != Some(step) {
                self.current = Some((step, now));
            }
        } else {
            // How long the step took, for "how this was computed".
            let started = match self.current.take() {
                Some((current, at)) if current == step => at,
                _ => self.mark,
            };
            let took = now.duration_since(started);
            crate::metrics::METRICS
                .analysis_step_seconds
                .with_label_values(&[step.name(), progress.name()])
                .observe(took.as_secs_f64());
            let micros = took.as_micros() as f64;
            fields.insert(
                "elapsed_ms".into(),
                ((micros / 100.0).round() / 10.0).into(),
            );
            self.mark = now;
        }
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
            self.steps.push(update.record());
        }
    }

    pub(super) fn start(&mut self, step: Step) {
        let mut fields = Map::new();
        fields.insert(step.field().into(), Value::Null);
        self.emit(step, Progress::InProgress, fields, None);
    }

    pub(super) fn complete(&mut self, step: Step, fields: Map<String, Value>) {
        self.emit(step, Progress::Completed, fields, None);
    }

    pub(super) fn fail(&mut self, step: Step, failure: Failure) -> Failure {
        self.fail_with(step, failure, Map::new())
    }

    /// Fails a step with fields that say more than the message (a refusal's words not
    /// understood and questions to ask instead).
    pub(super) fn fail_with(
        &mut self,
        step: Step,
        failure: Failure,
        mut fields: Map<String, Value>,
    ) -> Failure {
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
    pub(super) fn stream(&mut self, step: Step, text: &str, extra: Map<String, Value>) {
        for chunk in steps::chunks(text) {
            self.chunk(step, chunk);
        }
        let mut fields = extra;
        fields.insert(step.field().into(), text.into());
        self.complete(step, fields);
    }

    pub fn into_steps(self) -> Vec<StepRecord> {
        self.steps
    }
}
