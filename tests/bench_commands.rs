//! The documented benchmark commands run to the end (people run Skein to benchmark search):
//! a short `skein bench search` over every leg and its anchors, for people and as JSON, a
//! short `skein bench thread`, and the others' short runs.

mod common;

fn bench_search(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cranfield");
    let out = std::process::Command::new(common::binary())
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "bench",
            "search",
            "--messages",
            "1500",
            "--threads",
            "2",
            "--seconds",
            "1",
        ])
        .args(extra)
        .arg("--corpus")
        .arg(&corpus)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench search failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn bench_search_runs_every_leg() {
    let stdout = bench_search(&[]);
    for leg in ["tantivy", "bm25", "kernel", "vector", "hybrid"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(leg))
            .unwrap_or_else(|| panic!("no {leg} line:\n{stdout}"));
        // Every query answered: "(N queries, 0 errors)" with N > 0.
        assert!(
            line.contains(" 0 errors)") && !line.contains("(0 queries"),
            "{line}"
        );
    }
}

#[test]
fn bench_search_runs_the_legs_asked_for() {
    let stdout = bench_search(&["--legs", "bm25,kernel"]);
    let legs: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("queries/s"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(legs, ["bm25", "kernel"], "{stdout}");
}

#[test]
fn bench_search_speaks_json() {
    let stdout = bench_search(&["--json"]);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["messages"], 1500, "{report}");
    for leg in ["tantivy", "bm25", "kernel", "vector", "hybrid"] {
        let measured = &report["legs"][leg];
        assert!(measured["queries"].as_u64().unwrap() > 0, "{report}");
        assert_eq!(measured["errors"], 0, "{report}");
        assert!(measured["p99_ms"].as_f64().unwrap() >= measured["p50_ms"].as_f64().unwrap());
    }
    // The one-bit shortlist's recall against scoring every row: at 1,500 messages the
    // shortlist holds most of them, so it misses next to nothing.
    for depth in ["candidates", "top"] {
        let recall = report["vector_recall"][depth].as_f64().unwrap();
        assert!((0.95..=1.0).contains(&recall), "{report}");
    }
}

#[test]
fn bench_thread_grows_a_thread_through_a_real_server() {
    let report = bench_json(&["bench", "thread", "--answers", "6", "--json"]);
    assert_eq!(report["answers"], 6);
    assert_eq!(report["post_to_final_state"]["queries"], 6, "{report}");
    assert_eq!(
        report["post_to_final_state_new_thread"]["queries"], 6,
        "{report}"
    );
    // Six answers, one of 366 rows: with the latest answer's steps only, the state is about
    // 13 KB; with every answer's steps it was 28 KB, and with every row 45 KB.
    let bytes = report["state_bytes"].as_u64().unwrap();
    assert!(bytes > 5_000 && bytes < 20_000, "{report}");
    // Then another client's renames, alone and beside a reader of that state.
    assert_eq!(report["rename_alone"]["queries"], 500, "{report}");
    assert_eq!(
        report["rename_beside_state_reads"]["queries"], 500,
        "{report}"
    );
    assert!(
        report["state_reads_per_second"].as_f64().unwrap() > 0.0,
        "{report}"
    );
}

#[test]
fn bench_idle_measures_the_server_per_connection() {
    let report = bench_json(&["bench", "idle", "--connections", "50", "--json"]);
    assert_eq!(report["connections"], 50);
    assert!(report["rss_after_bytes"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn bench_writes_reports_the_server_next_to_the_disk_a_durable_echo_and_a_blocking_echo() {
    let report = bench_json(&[
        "bench",
        "writes",
        "--clients",
        "1,2",
        "--seconds",
        "1",
        "--rounds",
        "2",
        "--json",
    ]);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{report}");
    for run in runs {
        assert_eq!(run["rounds"].as_array().unwrap().len(), 2, "{report}");
        assert!(run["writes_per_second"].as_f64().unwrap() > 0.0, "{report}");
        assert!(
            run["disk_syncs_per_second"].as_f64().unwrap() > 0.0,
            "{report}"
        );
        for anchor in ["durable_echo_per_second", "blocking_echo_per_second"] {
            assert!(run[anchor].as_f64().unwrap() > 0.0, "{anchor}: {report}");
        }
        for cpu in [
            "server_cpu_us_per_write",
            "durable_echo_cpu_us_per_write",
            "blocking_echo_cpu_us_per_write",
        ] {
            assert!(run[cpu].as_f64().unwrap() >= 0.0, "{cpu}: {report}");
        }
    }
}

#[test]
fn bench_fanout_delivers_every_event_to_every_watcher() {
    let report = bench_json(&[
        "bench",
        "fanout",
        "--watchers",
        "20",
        // Dealt 3, 2 and 2 among the publishers: every watcher waits for all 7 (a lost one
        // would hang the round).
        "--events",
        "7",
        "--publishers",
        "3",
        "--rounds",
        "2",
        "--json",
    ]);
    assert_eq!(report["publishers"], 3, "{report}");
    let rounds = report["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2, "{report}");
    for measured in rounds.iter().chain([&report]) {
        assert!(
            measured["deliveries_per_second"].as_f64().unwrap() > 0.0,
            "{report}"
        );
        assert!(
            measured["anchor_deliveries_per_second"].as_f64().unwrap() > 0.0,
            "{report}"
        );
        // Read from /proc: numbers (whole clock ticks, so a run this short may show none),
        // for the server and for the anchor's process.
        for cpu in ["server_cpu_us_per_delivery", "anchor_cpu_us_per_delivery"] {
            assert!(measured[cpu].as_f64().unwrap() >= 0.0, "{cpu}: {report}");
        }
    }
    // The median of two rounds' ratios is the higher one.
    let ratios: Vec<f64> = rounds
        .iter()
        .map(|r| r["ratio"].as_f64().unwrap())
        .collect();
    assert_eq!(report["ratio"].as_f64().unwrap(), ratios[0].max(ratios[1]));
}

#[tokio::test]
async fn bench_ws_searches_a_seeded_server_and_matches_every_reply() {
    let mut server = common::TestServer::start();
    let token = server
        .admin_token
        .clone()
        .expect("the first start prints the admin's token");
    server.stop();
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cranfield");
    server.cli(&["bench", "seed", "--corpus", corpus, "--messages", "1500"]);
    server.restart();
    server
        .health_until("the seeded messages indexed", |h| {
            h["search"]["state"] == "ready" && h["search"]["vectors"]["complete"] == true
        })
        .await;
    // A client that missed its reply would wait for it forever: bounded here.
    let mut bench = std::process::Command::new(common::binary())
        .args(["bench", "ws", "--corpus", corpus, "--addr", &server.addr])
        .args(["--token", &token, "--clients", "3", "--seconds", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while bench.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            bench.kill().unwrap();
            panic!("bench ws did not finish");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = bench.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "... (N queries, E errors)"
    let counts = stdout.rsplit_once('(').unwrap().1;
    let queries: u64 = counts.split(' ').next().unwrap().parse().unwrap();
    assert!(queries > 0, "{stdout}");
    assert!(counts.contains(" 0 errors)"), "{stdout}");
}

/// Runs `skein ARGS` (a `--json` benchmark) to success; its report.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(common::binary())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "skein {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}
