//! What a client needs to guide a user, from the server rather than a copy of its rules: the
//! analyst's steps in order, example questions per dataset that the analyst answers, and a
//! refusal's words not understood with questions to ask instead, each of which is answered.

mod common;

use common::answers::ask;
use common::{Client, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn the_steps_of_an_analysis_come_from_the_server_in_order() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    let reply = client.ok("/analyst/steps", json!({})).await;
    assert_eq!(reply["event"], "getAnalystSteps");
    let steps = reply["payload"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "identifyingDataset",
            "identifyingTerms",
            "generatingSql",
            "fixingSql",
            "fetchingData",
            "generatingDataExplanation",
            "generatingTimeFrame",
            "generatingMetricTitle",
            "generatingDataSummary"
        ]
    );
    assert_eq!(steps[2]["label"], "SQL");
    assert_eq!(steps[4]["field"], "data");
    client
        .fails("/analyst/steps", json!({"extra": 1}), "BAD_REQUEST")
        .await;
}

#[tokio::test]
async fn a_refusal_names_the_words_and_suggests_questions_that_are_answered() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    let refused = ask(&mut client, "total sales by zodiac sign", None).await;
    let failed = refused.failure().expect("refused").clone();
    assert_eq!(failed["event"], "generatingSql");
    assert_eq!(
        failed["payload"]["not_understood"],
        json!(["zodiac", "sign"])
    );
    let suggestions: Vec<String> = failed["payload"]["suggested_questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q.as_str().unwrap().to_string())
        .collect();
    assert!(suggestions.len() >= 3, "{suggestions:?}");
    // The persisted steps keep them for a client opening the thread later.
    let steps = refused.message()["context"]["steps"].as_array().unwrap();
    let persisted = &steps.last().unwrap()["generatingSql"];
    assert_eq!(persisted["notUnderstood"], json!(["zodiac", "sign"]));
    assert_eq!(persisted["suggestedQuestions"], json!(suggestions));
    for question in &suggestions {
        let answer = ask(&mut client, question, None).await;
        assert!(
            answer.failure().is_none(),
            "{question}: {:?}",
            answer.failure()
        );
    }
}

#[tokio::test]
async fn every_example_question_of_a_dataset_is_answered() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    // A dataset without a time column: no "by month" examples for it.
    client
        .ok(
            "/datasets/add",
            json!({"name": "pets", "csv": "kind,owner,weight\ncat,ann,4.2\ndog,bob,20.5\ncat,cy,3.9\n"}),
        )
        .await;
    let list = client.ok("/datasets/list", json!({})).await;
    for dataset in list["payload"].as_array().unwrap() {
        let examples = dataset["example_questions"].as_array().unwrap();
        assert!(!examples.is_empty(), "{dataset}");
        for question in examples.iter().map(|q| q.as_str().unwrap()) {
            assert!(
                dataset["name"] != "pets" || !question.contains("month"),
                "{question}"
            );
            let reply = client
                .ok(
                    "/threads/post",
                    json!({"prompt": question, "dataset_id": dataset["id"]}),
                )
                .await;
            let id = reply["payload"]["id"].clone();
            let done = client
                .take(|m| m["event"] == "updateThreadState" && m["payload"][0]["id"] == id)
                .await;
            let message: &Value = &done["payload"][0]["messages"][0];
            assert!(message["title"].is_string(), "{question}: {message}");
        }
    }
}
