//! Search quality on Cranfield through `skein eval`: the hybrid default must beat BM25 alone on
//! the held-out (even) queries and reach nDCG@10 ≥ 0.40 on all queries.

mod common;

use std::path::Path;

/// nDCG@10 (odd, even, all) of a row of `skein eval`'s table.
fn ndcg(report: &str, leg: &str) -> [f64; 3] {
    let line = report
        .lines()
        .find(|l| l.starts_with(leg))
        .unwrap_or_else(|| panic!("no {leg} row in:\n{report}"));
    let numbers: Vec<f64> = line[leg.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    [numbers[0], numbers[1], numbers[2]]
}

#[test]
fn hybrid_beats_bm25_on_held_out_queries_and_reaches_the_target() {
    let collection = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cranfield");
    assert!(
        Path::new(collection).join("qrels.tsv").exists(),
        "the Cranfield collection is expected at {collection}"
    );
    let out = std::process::Command::new(common::binary())
        .args(["eval", collection])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    let bm25 = ndcg(&report, "BM25");
    let hybrid = ndcg(&report, "hybrid (default)");
    assert!(
        hybrid[1] > bm25[1],
        "held-out: hybrid {} vs BM25 {}\n{report}",
        hybrid[1],
        bm25[1]
    );
    assert!(
        hybrid[2] >= 0.40,
        "all queries: hybrid {}\n{report}",
        hybrid[2]
    );
}
