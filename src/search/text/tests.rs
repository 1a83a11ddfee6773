use super::*;
use crate::search::corpus;
use tantivy::query::ConstScoreQuery;

/// Deterministic pseudo-random numbers (a linear congruential generator).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// tantivy's own form of the search, the access terms inside the query: the reference for the
/// scoped top-k, whose hits and scores must be the same, hit for hit.
fn reference(index: &TextIndex, terms: &[String], scope: Scope, k: usize) -> Vec<(Uuid, f32)> {
    let f = index.fields;
    let searcher = index.reader.searcher();
    let term = |field, id: Uuid| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, &id.to_string()),
            IndexRecordOption::Basic,
        ))
    };
    let words = any_of(index.selective_terms(&searcher, terms).unwrap());
    let access = match scope {
        Scope::Org(org) => term(f.org, org),
        Scope::Member { org, user } => Box::new(BooleanQuery::new(vec![
            (Occur::Must, term(f.member, user)),
            (Occur::Must, term(f.org, org)),
        ])),
    };
    let query = BooleanQuery::new(vec![
        (Occur::Must, Box::new(words) as Box<dyn Query>),
        (Occur::Must, Box::new(ConstScoreQuery::new(access, 0.0))),
    ]);
    let hits = searcher
        .search(&query, &TopDocs::with_limit(k).order_by_score())
        .unwrap();
    index.message_ids(&searcher, hits).unwrap()
}

#[test]
fn scoped_hits_are_exactly_those_of_the_access_terms_in_the_query() {
    let vocabulary: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let (org_a, org_b, user) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut random = Lcg(7);
    // One index with two orgs (the big one filtered by bits, the user's few threads by
    // seeking), one with a single org (no filter); several segments and deleted documents.
    for orgs in [vec![org_a, org_b], vec![org_a]] {
        let index = TextIndex::open(None, 15_000_000).unwrap();
        let mut by_org: Vec<(Uuid, Uuid)> = Vec::new();
        for batch in 0..4 {
            for i in 0..600 {
                let org = orgs[(i % 4 == 3) as usize % orgs.len()];
                let thread = Uuid::new_v4();
                let mut members = vec![Uuid::new_v4()];
                if org == org_a && random.below(30) == 0 {
                    members.push(user);
                }
                let words = 3 + random.below(12);
                let text: Vec<&str> = (0..words)
                    .map(|_| vocabulary[random.below(40) as usize].as_str())
                    .collect();
                index
                    .add(&IndexDoc {
                        message_id: Uuid::new_v4(),
                        thread_id: thread,
                        org_id: org,
                        members,
                        text: text.join(" "),
                    })
                    .unwrap();
                by_org.push((thread, org));
            }
            if batch == 2 {
                for (thread, _) in by_org.iter().step_by(7) {
                    index.delete_thread(*thread).unwrap();
                }
            }
            index.commit(&batch.to_string()).unwrap();
        }
        for query in 0..30 {
            let terms: Vec<String> = (0..1 + query % 5)
                .map(|_| vocabulary[random.below(40) as usize].clone())
                .collect();
            for scope in [
                Scope::Org(org_a),
                Scope::Org(org_b),
                Scope::Member { org: org_a, user },
            ] {
                for k in [10, 100] {
                    assert_eq!(
                        index.search(&terms, scope, k).unwrap(),
                        reference(&index, &terms, scope, k),
                        "{terms:?} {scope:?}"
                    );
                }
            }
        }
    }
}

/// The Cranfield collection's documents in one org, a few in a member's threads, in several
/// segments with some deleted: every query's top 10 and 100 are tantivy's, hit for hit.
#[test]
fn cranfield_queries_get_tantivys_hits() {
    let collection = corpus::load(Path::new("tests/data/cranfield")).unwrap();
    let (org, user) = (Uuid::new_v4(), Uuid::new_v4());
    let index = TextIndex::open(None, 15_000_000).unwrap();
    let mut threads = Vec::new();
    for (i, (_, title, text)) in collection.docs.iter().enumerate() {
        let thread = Uuid::new_v4();
        let mut members = vec![Uuid::new_v4()];
        if i % 50 == 0 {
            members.push(user);
        }
        let message = IndexDoc {
            message_id: Uuid::new_v4(),
            thread_id: thread,
            org_id: org,
            members,
            text: format!("{title}\n{text}"),
        };
        index.add(&message).unwrap();
        threads.push(thread);
        if i % 500 == 499 {
            index.commit(&i.to_string()).unwrap();
        }
    }
    for thread in threads.iter().step_by(11) {
        index.delete_thread(*thread).unwrap();
    }
    index.commit("end").unwrap();
    assert!(index.reader.searcher().segment_readers().len() > 1);
    for (id, text) in &collection.queries {
        let terms = index.terms(text);
        for scope in [Scope::Org(org), Scope::Member { org, user }] {
            for k in [10, 100] {
                let hits = index.search(&terms, scope, k).unwrap();
                assert_eq!(hits, reference(&index, &terms, scope, k), "query {id}");
            }
        }
    }
}
