//! The threads the analyst is working on right now: the REST API reports them `busy` and
//! refuses state writes to them meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

#[derive(Default)]
pub struct Runs {
    active: Mutex<HashMap<Uuid, usize>>,
}

/// A run in progress; dropping it ends the run.
pub struct Run {
    runs: Arc<Runs>,
    thread: Uuid,
}

impl Runs {
    pub fn start(self: &Arc<Self>, thread: Uuid) -> Run {
        *self.active.lock().unwrap().entry(thread).or_default() += 1;
        Run {
            runs: self.clone(),
            thread,
        }
    }

    pub fn is_busy(&self, thread: Uuid) -> bool {
        self.active.lock().unwrap().contains_key(&thread)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let mut active = self.runs.active.lock().unwrap();
        if let Some(count) = active.get_mut(&self.thread) {
            *count -= 1;
            if *count == 0 {
                active.remove(&self.thread);
            }
        }
    }
}
