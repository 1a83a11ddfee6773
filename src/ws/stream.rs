//! Step updates of the analyst on the wire: every watcher of the thread receives them as
//! `/threads/post` events (`identifyingDataset`, `generatingSql`, …), payload fields plus
//! `progress`, `thread_id` and `message_id`; a failed step carries an `error` too.

use super::envelope::{ApiError, ErrorCode, Outgoing};
use crate::hub::ConnId;
use crate::model::User;
use crate::pipeline::{FailureKind, StepSink, StepUpdate};
use crate::services::Services;
use serde_json::Value;
use std::sync::Arc;

/// Sends each update to every subscriber of the thread.
pub struct ThreadStream {
    pub services: Arc<Services>,
    pub user: User,
}

/// Sends each update to one connection only (a `/threads/update` re-running code).
pub struct ReplyStream<'a> {
    pub services: &'a Services,
    pub conn: ConnId,
    pub user: &'a User,
    pub route: &'static str,
}

fn render(update: &StepUpdate, route: &str, user: &User) -> Arc<str> {
    let mut payload = update.fields.clone();
    payload.insert("progress".into(), update.progress.name().into());
    payload.insert("thread_id".into(), update.thread_id.to_string().into());
    payload.insert("message_id".into(), update.message_id.to_string().into());
    let error = update.failure.as_ref().map(|failure| ApiError {
        code: match failure.kind {
            FailureKind::NotUnderstood | FailureKind::QueryFailed => ErrorCode::BadRequest,
            FailureKind::NoDataset => ErrorCode::NotFound,
            FailureKind::Internal | FailureKind::Provider => ErrorCode::InternalServerError,
        },
        message: failure.message.clone(),
    });
    Outgoing {
        route,
        event: update.step.name(),
        payload: Value::Object(payload),
        error: error.as_ref(),
        sent_by: Some(user),
        request_id: None,
    }
    .to_text()
}

impl StepSink for ThreadStream {
    fn emit(&self, update: &StepUpdate) {
        let text = render(update, "/threads/post", &self.user);
        self.services
            .hub
            .broadcast_thread(update.thread_id, text, None);
    }
}

impl StepSink for ReplyStream<'_> {
    fn emit(&self, update: &StepUpdate) {
        let text = render(update, self.route, self.user);
        self.services.hub.send(self.conn, text);
    }
}
