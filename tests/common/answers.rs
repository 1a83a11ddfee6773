//! One question through the real server: every event it produced and the thread's final state.

use super::Client;
use serde_json::{json, Value};

/// Everything one post produced, up to the analyst's final state.
pub struct Answer {
    pub events: Vec<Value>,
    pub state: Value,
}

impl Answer {
    pub fn step(&self, name: &str, progress: &str) -> Option<&Value> {
        self.events
            .iter()
            .find(|e| e["event"] == name && e["payload"]["progress"] == progress)
    }

    /// The rows of fetchingData as (first column as text, last column as number).
    pub fn rows(&self) -> Vec<(String, f64)> {
        let fetched = self
            .step("fetchingData", "completed")
            .unwrap_or_else(|| panic!("no data: {:?}", self.failure()));
        let columns: Vec<String> = fetched["payload"]["data_metadata"]["column_metadata"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        fetched["payload"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let value = row[columns.last().unwrap()].as_f64().unwrap_or(f64::NAN);
                let label = if columns.len() == 1 {
                    String::new()
                } else {
                    match &row[&columns[0]] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }
                };
                (label, value)
            })
            .collect()
    }

    /// The completed event of a step; panics with the failure when the run failed.
    pub fn completed(&self, name: &str) -> &Value {
        self.step(name, "completed")
            .unwrap_or_else(|| panic!("no completed {name}: {:?}", self.failure()))
    }

    pub fn failure(&self) -> Option<&Value> {
        self.events
            .iter()
            .find(|e| e["payload"]["progress"] == "failed")
    }

    pub fn message(&self) -> &Value {
        let messages = self.state["payload"][0]["messages"].as_array().unwrap();
        messages.last().unwrap()
    }

    pub fn thread_id(&self) -> String {
        self.state["payload"][0]["id"].as_str().unwrap().to_string()
    }
}

/// Posts a question and collects every event up to the analyst's final updateThreadState.
pub async fn ask(client: &mut Client, prompt: &str, thread_id: Option<&str>) -> Answer {
    post(client, json!({"prompt": prompt, "thread_id": thread_id})).await
}

/// Posts `/threads/post` with `data` (a dataset_id, say) and collects its events up to the
/// analyst's final updateThreadState.
pub async fn post(client: &mut Client, data: Value) -> Answer {
    let reply = client.ok("/threads/post", data).await;
    let id = reply["payload"]["id"].clone();
    let mut events = vec![reply];
    loop {
        let event = client.next().await;
        let done = event["route"] == "/threads/post"
            && event["event"] == "updateThreadState"
            && event["payload"][0]["id"] == id;
        if done {
            return Answer {
                events,
                state: event,
            };
        }
        events.push(event);
    }
}

pub fn assert_rows(question: &str, got: &[(String, f64)], want: &[(String, f64)]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{question}: {} rows, expected {}\n got {got:?}\nwant {want:?}",
        got.len(),
        want.len()
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            g.0, w.0,
            "{question}: labels differ\n got {got:?}\nwant {want:?}"
        );
        assert!(
            (g.1 - w.1).abs() < 0.005,
            "{question}: {} is {} , expected {}",
            g.0,
            g.1,
            w.1
        );
    }
}

/// One number as the rows of an answer.
pub fn single(value: f64) -> Vec<(String, f64)> {
    vec![(String::new(), value)]
}
