//! Managing datasets through the real binary: an org admin previews a CSV, adds it with column
//! notes, edits the notes, replaces the rows and removes it over the WebSocket (members only
//! read; another org's datasets do not exist for them), the CLI describes, replaces and
//! removes, and `--no-sample` starts without the sample. Bad input changes nothing.

mod common;

use common::answers::{post, Answer};
use common::{Client, TestServer};
use serde_json::{json, Value};

const VISITS: &str = "city,day,visits,temperature\n\
Oslo,2024-01-01,3,-4.5\nOslo,2024-01-02,5,-2.0\nLima,2024-01-01,7,22.5\nLima,2024-01-02,9,23.0\n";

/// Asks about one dataset.
async fn ask_about(client: &mut Client, prompt: &str, dataset_id: &Value) -> Answer {
    post(client, json!({"prompt": prompt, "dataset_id": dataset_id})).await
}

fn dataset_files(server: &TestServer) -> usize {
    std::fs::read_dir(server.dir.join("datasets"))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

async fn names(client: &mut Client) -> Vec<String> {
    let list = client.ok("/datasets/list", json!({})).await;
    list["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_admin_adds_edits_replaces_and_removes_a_dataset() {
    let server = TestServer::start();
    let mut admin = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    let files = dataset_files(&server);

    // A preview shows the inferred types and roles and the first rows, and writes nothing.
    let preview = admin.ok("/datasets/preview", json!({"csv": VISITS})).await;
    assert_eq!(preview["event"], "previewDataset");
    let columns = preview["payload"]["columns"].as_array().unwrap();
    let described: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["type"].as_str().unwrap(),
                c["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("city", "text", "dimension"),
            ("day", "date", "time"),
            ("visits", "int8", "measure"),
            ("temperature", "float8", "measure"),
        ]
    );
    assert_eq!(preview["payload"]["sample"]["row_count"], 4);
    assert_eq!(preview["payload"]["sample"]["rows"][0]["city"], "Oslo");
    assert_eq!(dataset_files(&server), files, "a preview leaves no file");
    // A bad CSV is refused with its line.
    let message = admin
        .fails(
            "/datasets/preview",
            json!({"csv": "a,b\n1,2\n3\n"}),
            "BAD_REQUEST",
        )
        .await;
    assert!(message.contains("line 3"), "{message}");

    // Added with the notes set on the preview.
    let added = admin
        .ok(
            "/datasets/add",
            json!({"name": "visits", "csv": VISITS, "description": "City visits",
                   "columns": {"temperature": {"unit": "°C", "aggregate": "avg"}}}),
        )
        .await;
    assert_eq!(added["event"], "addDataset");
    let id = added["payload"]["id"].clone();
    let temperature = &added["payload"]["columns"][3];
    assert_eq!(temperature["unit"], "°C");
    assert_eq!(temperature["aggregate"], "avg");
    let examples = added["payload"]["example_questions"].as_array().unwrap();
    assert!(!examples.is_empty(), "{added}");
    assert!(names(&mut admin).await.contains(&"visits".to_string()));
    let answer = ask_about(&mut admin, "total visits", &id).await;
    assert_eq!(answer.rows(), [(String::new(), 24.0)]);

    // Its detail: notes, row count, first rows.
    let detail = admin.ok("/datasets/get", json!({"id": id})).await;
    assert_eq!(detail["payload"]["sample"]["row_count"], 4);
    assert_eq!(detail["payload"]["description"], "City visits");

    // Notes edited: a meaning and a new aggregation the analyst then uses.
    let updated = admin
        .ok(
            "/datasets/update",
            json!({"id": id, "columns": {"visits": {"meaning": "people through the door", "aggregate": "max"}}}),
        )
        .await;
    assert_eq!(updated["payload"]["columns"][2]["aggregate"], "max");
    assert_eq!(
        updated["payload"]["columns"][2]["meaning"],
        "people through the door"
    );
    let answer = ask_about(&mut admin, "visits", &id).await;
    assert_eq!(answer.rows(), [(String::new(), 9.0)]);
    // Bad edits say why and change nothing.
    for (change, needle) in [
        (json!({"nope": {"unit": "x"}}), "no column \"nope\""),
        (json!({"city": {"role": "boss"}}), "unknown column role"),
        (json!({"city": {"aggregate": "sum"}}), "not a measure"),
        (
            json!({"visits": {"aggregate": "median-ish"}}),
            "unknown aggregate",
        ),
    ] {
        let message = admin
            .fails(
                "/datasets/update",
                json!({"id": id, "columns": change}),
                "BAD_REQUEST",
            )
            .await;
        assert!(message.contains(needle), "{message}");
    }
    admin
        .fails(
            "/datasets/update",
            json!({"id": id, "colour": "red"}),
            "BAD_REQUEST",
        )
        .await;
    let after = admin.ok("/datasets/get", json!({"id": id})).await;
    assert_eq!(after["payload"]["columns"], updated["payload"]["columns"]);

    // Replaced rows: the notes stay; a row that does not fit a kept column's type refuses the
    // whole CSV and the old rows still answer.
    let message = admin
        .fails(
            "/datasets/replace",
            json!({"id": id, "csv": "city,day,visits,temperature\nRome,2024-01-01,many,10\n"}),
            "BAD_REQUEST",
        )
        .await;
    assert!(message.contains("line 2"), "{message}");
    let answer = ask_about(&mut admin, "total visits", &id).await;
    assert_eq!(answer.rows(), [(String::new(), 24.0)]);
    let replaced = admin
        .ok(
            "/datasets/replace",
            json!({"id": id, "csv": "city,day,visits,temperature\nRome,2024-02-01,40,11\nRome,2024-02-02,2,12\n"}),
        )
        .await;
    assert_eq!(replaced["payload"]["columns"][2]["aggregate"], "max");
    let answer = ask_about(&mut admin, "total visits", &id).await;
    assert_eq!(answer.rows(), [(String::new(), 42.0)]);
    let thread_id = answer.thread_id();
    let message_id = answer.message()["id"].clone();

    // Removed: gone from the list, its file deleted; the answer keeps its rows.
    admin.ok("/datasets/remove", json!({"id": id})).await;
    assert!(!names(&mut admin).await.contains(&"visits".to_string()));
    assert_eq!(dataset_files(&server), files);
    admin
        .fails("/datasets/get", json!({"id": id}), "NOT_FOUND")
        .await;
    let rows = admin
        .ok("/threads/data", json!({"message_id": message_id}))
        .await;
    assert_eq!(rows["payload"]["total"], 1);
    let thread = admin.ok("/threads/get", json!({"id": thread_id})).await;
    assert_eq!(
        thread["payload"][0]["messages"][0]["title"],
        answer.message()["title"]
    );
}

#[tokio::test]
async fn members_read_datasets_and_only_their_orgs_admins_manage_them() {
    let server = TestServer::start();
    let mut admin = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    let added = admin
        .ok("/datasets/add", json!({"name": "visits", "csv": VISITS}))
        .await;
    let id = added["payload"]["id"].clone();
    let member = server.add_user("Mia", "mia@example.com");
    let mut member = Client::connect(&server, &member.token).await;
    member.ok("/datasets/get", json!({"id": id})).await;
    // A member watching the lists sees an admin's change to the org's datasets.
    member.ok("/threads/list", json!({})).await;
    admin
        .ok(
            "/datasets/update",
            json!({"id": id, "description": "Visits per city"}),
        )
        .await;
    let update = member.expect("/datasets/list", "updateDatasetsList").await;
    let listed = update["payload"].as_array().unwrap();
    let visits = listed.iter().find(|d| d["id"] == id).unwrap();
    assert_eq!(visits["description"], "Visits per city", "{update}");
    for (route, data) in [
        ("/datasets/preview", json!({"csv": VISITS})),
        ("/datasets/add", json!({"name": "mine", "csv": VISITS})),
        ("/datasets/update", json!({"id": id, "name": "renamed"})),
        ("/datasets/replace", json!({"id": id, "csv": VISITS})),
        ("/datasets/remove", json!({"id": id})),
    ] {
        let message = member.fails(route, data, "UNAUTHORIZED").await;
        assert!(message.contains("admins"), "{message}");
    }

    server.cli(&["org", "add", "Acme"]);
    let other = server.add_user_with("Oz", "oz@acme.test", &["--admin", "--org", "Acme"]);
    let mut other = Client::connect(&server, &other.token).await;
    assert!(!names(&mut other).await.contains(&"visits".to_string()));
    other
        .fails("/datasets/get", json!({"id": id}), "NOT_FOUND")
        .await;
    other
        .fails("/datasets/remove", json!({"id": id}), "NOT_FOUND")
        .await;
    // Another org's list subscribers hear nothing of it.
    other.ok("/threads/list", json!({})).await;
    admin
        .ok("/datasets/update", json!({"id": id, "description": null}))
        .await;
    member.expect("/datasets/list", "updateDatasetsList").await;
    let heard = other.barrier().await;
    assert!(
        heard.iter().all(|m| m["event"] != "updateDatasetsList"),
        "{heard:?}"
    );

    let detail = admin.ok("/datasets/get", json!({"id": id})).await;
    assert_eq!(detail["payload"]["name"], "visits", "nothing changed");
    assert_eq!(detail["payload"]["sample"]["row_count"], 4);
}

#[tokio::test]
async fn the_cli_describes_replaces_and_removes_datasets_and_no_sample_skips_the_sample() {
    let mut server = TestServer::start_with(&["--no-sample"]);
    let mut admin = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    assert_eq!(names(&mut admin).await, Vec::<String>::new());
    let dir = server.dir.parent().unwrap().to_path_buf();
    let csv = dir.join("visits.csv");
    std::fs::write(&csv, VISITS).unwrap();
    server.cli(&["dataset", "add", "visits", "--csv", csv.to_str().unwrap()]);

    // Through the running server's admin socket.
    let described = server.cli(&["dataset", "describe", "visits"]);
    assert!(
        described.contains("visits (table visits, 4 rows, imported)"),
        "{described}"
    );
    assert!(
        described.contains("temperature\tfloat8\tmeasure"),
        "{described}"
    );
    assert!(described.contains("questions to try:"), "{described}");
    let newer = dir.join("newer.csv");
    std::fs::write(
        &newer,
        "city,day,visits,temperature\nRome,2024-02-01,40,11\n",
    )
    .unwrap();
    let out = server.cli(&[
        "dataset",
        "replace",
        "visits",
        "--csv",
        newer.to_str().unwrap(),
    ]);
    assert!(out.contains("1 rows"), "{out}");
    let missing = common::run_cli(&server.dir, &["dataset", "remove", "nope"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no dataset \"nope\""));

    // And on a stopped server.
    server.stop();
    let described = server.cli(&["dataset", "describe", "visits"]);
    assert!(described.contains("1 rows"), "{described}");
    server.cli(&["dataset", "remove", "visits"]);
    server.restart();
    let mut admin = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    assert_eq!(names(&mut admin).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_sample_dataset_can_be_removed_for_good() {
    let mut server = TestServer::start();
    let out = server.cli(&["dataset", "remove", "sales_summary"]);
    assert!(out.contains("removed dataset Sales Dataset"), "{out}");
    // Only a first start adds it.
    server.stop();
    server.restart();
    let mut admin = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    assert_eq!(names(&mut admin).await, Vec::<String>::new());
}
