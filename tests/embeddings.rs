//! Search embeddings from an OpenAI-compatible `/embeddings` endpoint, through the real server:
//! a fake provider on loopback records every request and can fail or hold them. Vectors record
//! their model; changing the model re-embeds in the background while the old vectors serve; a
//! provider that fails leaves the text leg working and the vectors fill in when it recovers.

mod common;
#[path = "common/fake_embeddings.rs"]
mod fake_embeddings;
#[path = "common/fake_llm.rs"]
mod fake_llm;

use common::{new_thread_id, Client, TestServer};
use fake_embeddings::{FakeEmbeddings, Mode};
use serde_json::{json, Value};

const KEY: &str = "sk-embed-secret-456";
const BUILT_IN: &str = "skein-hashed-ngrams-v1-256";

/// Questions the built-in analyst answers; each becomes a thread of one message.
const QUESTIONS: [&str; 5] = [
    "total sales by region",
    "top 5 customers by sales",
    "how many orders in 2023",
    "sales by month in 2024",
    "bottom 3 regions by quantity",
];

fn remote(base_url: &str, model: &str, batch: &str) -> Vec<String> {
    [
        "--embed-base-url",
        base_url,
        "--embed-model",
        model,
        "--embed-batch-size",
        batch,
    ]
    .map(String::from)
    .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

async fn search(client: &mut Client, prompt: &str) -> Vec<Value> {
    let reply = client
        .ok("/threads/search", json!({"prompt": prompt}))
        .await;
    reply["payload"].as_array().unwrap().clone()
}

/// Creates the threads of [`QUESTIONS`]; returns their ids.
async fn ask_all(client: &mut Client) -> Vec<String> {
    let mut ids = Vec::new();
    for question in QUESTIONS {
        ids.push(new_thread_id(client, question).await);
    }
    ids
}

/// Waits until the vectors of `model` serve and cover `count` messages.
async fn complete(server: &TestServer, model: &str, count: usize) -> Value {
    server
        .health_until(&format!("{count} vectors of {model}"), |h| {
            let v = &h["search"]["vectors"];
            v["complete"] == true && v["serving"] == model && v["vectors"] == count
        })
        .await
}

#[tokio::test]
async fn remote_embeddings_come_in_batches_record_their_model_and_serve_search() {
    let fake = FakeEmbeddings::start(Mode::Serve).await;
    let args = remote(&fake.base_url, "fake-embed-1", "2");
    let mut server = TestServer::start_configured(&strs(&args), &[("SKEIN_EMBED_API_KEY", KEY)]);
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let ids = ask_all(&mut client).await;
    let health = complete(&server, "fake-embed-1", QUESTIONS.len()).await;
    assert_eq!(health["search"]["vectors"]["building"], Value::Null);

    // Every request: the embeddings endpoint, the configured model, the key, at most 2 texts.
    let requests = fake.requests();
    assert!(!requests.is_empty());
    for seen in &requests {
        assert!(
            seen.head.starts_with("POST /v1/embeddings "),
            "{}",
            seen.head
        );
        assert!(
            seen.head.contains(&format!("authorization: Bearer {KEY}")),
            "{}",
            seen.head
        );
        assert_eq!(seen.body["model"], "fake-embed-1");
        let batch = seen.body["input"].as_array().unwrap().len();
        assert!((1..=2).contains(&batch), "batch of {batch}");
    }
    let inputs = fake.inputs();
    for question in QUESTIONS {
        assert!(
            inputs.iter().any(|text| text.contains(question)),
            "{question:?} never embedded: {inputs:?}"
        );
    }

    // A misspelling the text leg cannot match finds the thread through the provider's vectors,
    // and the query itself was embedded by the provider.
    let results = search(&mut client, "custmers").await;
    assert_eq!(results[0]["thread_id"], ids[1], "{results:?}");
    assert_eq!(fake.inputs().last().unwrap(), "custmers");

    // The stored vectors record their model: a restart with the same model embeds no documents
    // again (only queries).
    let embedded = fake.inputs().len();
    assert!(server.stop());
    server.restart();
    complete(&server, "fake-embed-1", QUESTIONS.len()).await;
    let mut client = Client::connect(&server, &admin).await;
    let results = search(&mut client, "custmers").await;
    assert_eq!(results[0]["thread_id"], ids[1]);
    assert_eq!(
        fake.inputs().len(),
        embedded + 1,
        "{:?}",
        &fake.inputs()[embedded..]
    );

    assert!(!server.log().contains(KEY), "the key is in the log");
}

#[tokio::test]
async fn a_new_model_is_built_in_the_background_while_the_old_vectors_serve() {
    let mut server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let ids = ask_all(&mut client).await;
    complete(&server, BUILT_IN, QUESTIONS.len()).await;
    assert!(server.stop());

    // The new provider holds every request: the new vectors cannot be made yet.
    let fake = FakeEmbeddings::start(Mode::Hold).await;
    let args = remote(&fake.base_url, "fake-embed-2", "64");
    server.reconfigure(&strs(&args), &[]);
    server.restart();
    let health = server
        .health_until("the new model building", |h| {
            h["search"]["vectors"]["building"] == "fake-embed-2"
        })
        .await;
    let vectors = &health["search"]["vectors"];
    assert_eq!(vectors["serving"], BUILT_IN, "{health}");
    assert_eq!(vectors["complete"], false);
    assert_eq!(vectors["model"], "fake-embed-2");

    // Meanwhile search answers at once from the old vectors: a misspelling only vectors match.
    let mut client = Client::connect(&server, &admin).await;
    let results = search(&mut client, "custmers").await;
    assert_eq!(results[0]["thread_id"], ids[1], "{results:?}");
    // A thread written meanwhile is searchable too.
    let late = new_thread_id(&mut client, "average order value last year").await;
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !search(&mut client, "avrage ordr valeu")
        .await
        .iter()
        .any(|r| r["thread_id"] == late)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the late thread never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        server.health().await["search"]["vectors"]["serving"],
        BUILT_IN
    );

    // Released, the provider embeds everything and the new model takes over.
    fake.set_mode(Mode::Serve);
    complete(&server, "fake-embed-2", QUESTIONS.len() + 1).await;
    let inputs = fake.inputs();
    for question in QUESTIONS
        .iter()
        .chain(["average order value last year"].iter())
    {
        assert!(
            inputs.iter().any(|text| text.contains(question)),
            "{question:?} not embedded"
        );
    }
    let before = fake.inputs().len();
    let results = search(&mut client, "custmers").await;
    assert_eq!(results[0]["thread_id"], ids[1], "{results:?}");
    assert_eq!(
        fake.inputs().len(),
        before + 1,
        "the query goes to the new model"
    );

    // The old model's vectors are gone: restarting serves the new model straight away.
    assert!(server.stop());
    server.restart();
    let health = server.health().await;
    assert_eq!(
        health["search"]["vectors"]["serving"], "fake-embed-2",
        "{health}"
    );
    assert_eq!(health["search"]["vectors"]["complete"], true);
}

#[tokio::test]
async fn a_failing_provider_leaves_text_search_working_until_vectors_fill_in() {
    let fake = FakeEmbeddings::start(Mode::Fail(500)).await;
    let args = remote(&fake.base_url, "fake-embed-3", "64");
    let server = TestServer::start_configured(&strs(&args), &[]);
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let ids = ask_all(&mut client).await;

    // The text leg indexes and answers regardless.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    loop {
        let results = search(&mut client, "customers").await;
        if results.first().is_some_and(|r| r["thread_id"] == ids[1]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{results:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // No vectors: a misspelling finds nothing rather than failing.
    assert_eq!(search(&mut client, "custmers").await, Vec::<Value>::new());
    let health = server.health().await;
    assert_eq!(health["search"]["vectors"]["complete"], false, "{health}");
    assert!(server.log().contains("HTTP 500"), "the failure is logged");

    // The provider recovers: the filler retries and the vectors serve.
    fake.set_mode(Mode::Serve);
    complete(&server, "fake-embed-3", QUESTIONS.len()).await;
    let results = search(&mut client, "custmers").await;
    assert_eq!(results[0]["thread_id"], ids[1], "{results:?}");
}
