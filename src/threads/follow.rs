//! Following one analysis as it runs: its steps, then its end. For faces that answer a
//! question in the request that asked it (Freddy's `/model/response`, Slack).

use crate::events::{Event, Subscriber, Watch};
use crate::pipeline::StepUpdate;
use crate::services::Services;
use tokio::sync::mpsc;
use uuid::Uuid;

/// What a followed run reports.
pub enum Progress {
    Step(StepUpdate),
    Finished,
}

/// A run being followed; following stops when this is dropped.
pub struct Following {
    progress: mpsc::UnboundedReceiver<Progress>,
    _watch: Watch,
}

impl Following {
    /// The next step, or the end (`None` too if the run can no longer report).
    pub async fn next(&mut self) -> Option<Progress> {
        self.progress.recv().await
    }
}

/// Posts `question` and follows its analysis from before the analyst starts.
pub async fn post(
    services: &std::sync::Arc<Services>,
    user: &crate::model::User,
    question: super::post::Question,
) -> crate::error::Result<(super::post::Posted, Following)> {
    let following = std::sync::Mutex::new(None);
    let posted = super::post::post(
        services,
        user,
        question,
        None,
        async |posted: &super::post::Posted| {
            *following.lock().unwrap() =
                Some(follow(services, posted.thread.id, posted.message.id));
            Ok(())
        },
    )
    .await?;
    let following = following
        .into_inner()
        .unwrap()
        .expect("set once the question was stored");
    Ok((posted, following))
}

/// Starts following the analysis of `message_id` in `thread_id`. Call it before the analyst
/// starts (in `post`'s `stored` callback), so no step is missed.
pub fn follow(services: &Services, thread_id: Uuid, message_id: Uuid) -> Following {
    let (sender, progress) = mpsc::unbounded_channel();
    let watch = services.events.watch(std::sync::Arc::new(Follower {
        thread_id,
        message_id,
        sender,
    }));
    Following {
        progress,
        _watch: watch,
    }
}

struct Follower {
    thread_id: Uuid,
    message_id: Uuid,
    sender: mpsc::UnboundedSender<Progress>,
}

impl Subscriber for Follower {
    fn deliver(&self, event: &Event) {
        let progress = match event {
            Event::AnalysisStep { update, .. } if update.message_id == self.message_id => {
                Progress::Step(update.clone())
            }
            // A thread runs one analysis at a time, so its end is this message's.
            Event::AnalysisFinished { thread, .. } if thread.id == self.thread_id => {
                Progress::Finished
            }
            _ => return,
        };
        let _ = self.sender.send(progress);
    }
}
