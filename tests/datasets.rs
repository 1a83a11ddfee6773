//! Datasets through the real binary: CSV and SQLite files added with the CLI (bad rows refused
//! with their line number, nothing half-imported), queried by the analyst, and kept to their
//! organization; the sample CSV is what its generator writes.

mod common;

use common::answers::ask;
use common::{answered, Client, TestServer};
use serde_json::json;

#[tokio::test]
async fn csv_and_sqlite_datasets_can_be_added_and_queried() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let dir = server.dir.parent().unwrap().to_path_buf();

    // A CSV with a bad row is refused with its line number, and nothing is imported.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "city,visits\nOslo,3\nLima,4\nRome,5,extra\n").unwrap();
    let out = common::run_cli(
        &server.dir,
        &["dataset", "add", "visits", "--csv", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4"), "{stderr}");
    // A declared type is enforced with the line number too.
    let describe = dir.join("visits.toml");
    std::fs::write(&describe, "[columns.visits]\ntype = \"integer\"\n").unwrap();
    let typed = dir.join("typed.csv");
    std::fs::write(&typed, "city,visits\nOslo,3\nLima,many\n").unwrap();
    let out = common::run_cli(
        &server.dir,
        &[
            "dataset",
            "add",
            "visits",
            "--csv",
            typed.to_str().unwrap(),
            "--describe",
            describe.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("visits"),
        "{stderr}"
    );
    assert!(!server.cli(&["dataset", "list"]).contains("visits"));
    let files: Vec<_> = std::fs::read_dir(server.dir.join("datasets"))
        .unwrap()
        .collect();
    assert_eq!(
        files.len(),
        1,
        "only the sample's file, no half-imported one"
    );

    // A good CSV: every type inferred.
    let good = dir.join("visits.csv");
    std::fs::write(
        &good,
        "City Name,visits,share,first_visit,last_seen\nOslo,3,0.5,2024-01-02,2024-05-01 10:00:00\nLima,4,0.25,2024-02-03,2024-05-02 11:30:00\nOslo,6,0.25,2024-03-04,\n",
    )
    .unwrap();
    let added = server.cli(&["dataset", "add", "visits", "--csv", good.to_str().unwrap()]);
    assert!(
        added.contains(
            "city_name text, visits int8, share float8, first_visit date, last_seen timestamp"
        ),
        "{added}"
    );
    let dataset_id = added
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .trim()
        .to_string();

    // An existing SQLite table, opened read-only.
    let file = dir.join("inventory.sqlite");
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(
            "CREATE TABLE stock (item TEXT, units INTEGER);
             INSERT INTO stock VALUES ('bolts', 10), ('nuts', 25), ('bolts', 5);",
        )
        .unwrap();
    }
    let before = std::fs::read(&file).unwrap();
    let added = server.cli(&[
        "dataset",
        "add",
        "inventory",
        "--sqlite",
        file.to_str().unwrap(),
        "--table",
        "stock",
    ]);
    let inventory_id = added
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .trim()
        .to_string();

    let mut client = Client::connect(&server, &token).await;
    let list = client.ok("/datasets/list", json!({})).await;
    assert_eq!(list["event"], "getDatasetsList");
    let names: Vec<&str> = list["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sales Dataset", "visits", "inventory"]);

    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": "total visits by city name", "dataset_id": dataset_id}),
        )
        .await;
    let answer = answered(&mut client, &reply["payload"]["id"]).await;
    let code = answer["payload"][0]["messages"][0]["code"]
        .as_str()
        .unwrap();
    assert!(
        code.contains("SUM(visits)") && code.contains("city_name"),
        "{code}"
    );
    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": "units by item", "dataset_id": inventory_id}),
        )
        .await;
    let thread_id = reply["payload"]["id"].clone();
    let mut fetched = None;
    loop {
        let event = client.next().await;
        if event["event"] == "fetchingData" && event["payload"]["progress"] == "completed" {
            fetched = Some(event["payload"]["data"].clone());
        }
        if event["event"] == "updateThreadState" && event["payload"][0]["id"] == thread_id {
            break;
        }
    }
    assert_eq!(
        fetched.unwrap(),
        json!([{"item": "nuts", "total_units": 25}, {"item": "bolts", "total_units": 15}])
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the SQLite file was only read"
    );

    // Auto-picking: a question about visits goes to the visits dataset.
    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": "average share by city name"}),
        )
        .await;
    let answer = answered(&mut client, &reply["payload"]["id"]).await;
    assert_eq!(
        answer["payload"][0]["messages"][0]["dataset_id"],
        dataset_id.as_str()
    );
}

#[tokio::test]
async fn datasets_belong_to_their_organization() {
    let server = TestServer::start();
    let mut admin = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let list = admin.ok("/datasets/list", json!({})).await;
    let sample_id = list["payload"][0]["id"].as_str().unwrap().to_string();

    server.cli(&["org", "add", "Acme"]);
    let outsider = server.add_user_with("Out", "out@acme.test", &["--org", "Acme"]);
    let mut client = Client::connect(&server, &outsider.token).await;
    let list = client.ok("/datasets/list", json!({})).await;
    assert_eq!(list["payload"], json!([]));
    client
        .fails(
            "/threads/post",
            json!({"prompt": "sales by month", "dataset_id": sample_id}),
            "NOT_FOUND",
        )
        .await;
    let answer = ask(&mut client, "total sales by month", None).await;
    let failed = answer.failure().unwrap();
    assert_eq!(failed["event"], "identifyingDataset");
    assert!(failed["error"]["message"]
        .as_str()
        .unwrap()
        .contains("skein dataset add"));
}

#[test]
fn the_sample_csv_is_exactly_what_its_generator_writes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let out = std::process::Command::new("python3")
        .arg("generate.py")
        .current_dir(dir)
        .output()
        .expect("python3 runs the generator");
    assert!(out.status.success());
    let committed = std::fs::read(format!("{dir}/sales_summary.csv")).unwrap();
    assert!(
        out.stdout == committed,
        "regenerate with: python3 generate.py > sales_summary.csv"
    );
}
