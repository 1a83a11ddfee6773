//! Step updates of the analyst on the wire: every watcher of the thread receives them as
//! `/threads/post` events (`identifyingDataset`, `generatingSql`, …), payload fields plus
//! `progress`, `thread_id` and `message_id`; a failed step carries an `error` too.

use super::envelope::Outgoing;
use crate::error::Error;
use crate::hub::ConnId;
use crate::model::User;
use crate::outbox::Frame;
use crate::pipeline::{StepSink, StepUpdate};
use crate::services::Services;
use serde_json::Value;

/// Sends each update to one connection only (a `/threads/update` re-running code).
pub struct ReplyStream<'a> {
    pub services: &'a Services,
    pub conn: ConnId,
    pub user: &'a User,
    pub route: &'static str,
}

fn render(update: &StepUpdate, route: &str, user: &User) -> Frame {
    let mut payload = update.fields.clone();
    payload.insert("progress".into(), update.progress.name().into());
    payload.insert("thread_id".into(), update.thread_id.to_string().into());
    payload.insert("message_id".into(), update.message_id.to_string().into());
    let error = update
        .failure
        .as_ref()
        .map(|failure| Error::new(failure.kind.code(), failure.message.clone()));
    Outgoing {
        route,
        event: update.step.name(),
        payload: &Value::Object(payload),
        error: error.as_ref(),
        sent_by: Some(user),
        request_id: None,
        // As the seed shows: the analyst's generated output is for the user who asked.
        send_back_to_user: update.step.name().starts_with("generating"),
    }
    .to_frame()
}

/// Sends an analysis step to every subscriber of its thread.
pub fn broadcast_step(services: &Services, update: &StepUpdate, user: &User) {
    let frame = render(update, "/threads/post", user);
    services.hub.broadcast_thread(update.thread_id, frame, None);
}

impl StepSink for ReplyStream<'_> {
    fn emit(&self, update: &StepUpdate) {
        let frame = render(update, self.route, self.user);
        self.services.hub.send(self.conn, frame);
    }
}
