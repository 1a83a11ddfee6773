//! Search cost per query at 10k and 100k messages: hybrid, and each leg alone, in process.
//! The corpus is made from the Cranfield texts (`tests/data/cranfield`), varied, and indexed
//! through the same path as messages.
//!
//! Run: `cargo bench --bench search` (building the 100k index takes a little while).

use criterion::{criterion_group, criterion_main, Criterion};
use skein::search::{corpus, eval, HashedNgrams, Legs, Scope, Search, DEFAULT_DIM};
use skein::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Runtime;
use uuid::Uuid;

const COLLECTION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cranfield");

struct Indexed {
    search: Search,
    org: Uuid,
    _dir: tempfile::TempDir,
}

fn build(runtime: &Runtime, collection: &eval::Collection, messages: usize) -> Indexed {
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let org = Uuid::new_v4();
        let texts = corpus::messages(collection, messages, 7);
        corpus::store_messages(&store, &texts, org, Uuid::new_v4())
            .await
            .unwrap();
        let search = Search::open(
            store,
            Some(dir.path()),
            Arc::new(HashedNgrams::new(DEFAULT_DIM)),
        )
        .await
        .unwrap();
        let started = Instant::now();
        search.reindex().await.unwrap();
        eprintln!(
            "indexed {messages} messages in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Indexed {
            search,
            org,
            _dir: dir,
        }
    })
}

fn bench(c: &mut Criterion) {
    let collection = eval::load(Path::new(COLLECTION)).unwrap();
    let prompts: Vec<String> = collection.queries.iter().map(|(_, q)| q.clone()).collect();
    let runtime = Runtime::new().unwrap();
    // `cargo test` runs benches once, unoptimized: keep the corpus small there.
    let sizes: &[usize] = if std::env::args().any(|a| a == "--bench") {
        &[10_000, 100_000]
    } else {
        &[1_000]
    };
    for &size in sizes {
        let indexed = build(&runtime, &collection, size);
        let mut group = c.benchmark_group(format!("search_{size}"));
        for (name, legs) in [
            ("hybrid", Legs::Hybrid),
            ("bm25", Legs::Text),
            ("vector", Legs::Vector),
        ] {
            let mut next = 0;
            group.bench_function(name, |b| {
                b.iter(|| {
                    let prompt = &prompts[next % prompts.len()];
                    next += 1;
                    runtime
                        .block_on(indexed.search.query_scoped(
                            prompt,
                            Scope::Org(indexed.org),
                            legs,
                            10,
                        ))
                        .unwrap()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
