use super::super::bits::tests::splitmix;
use super::*;

#[test]
fn finds_the_nearest_vectors_within_scope() {
    let org = Uuid::new_v4();
    let other_org = Uuid::new_v4();
    let user = Uuid::new_v4();
    let mut index = VectorIndex::new(4);
    let t1 = Uuid::new_v4();
    let t2 = Uuid::new_v4();
    let a = index.set_thread(t1, org, vec![user]);
    let b = index.set_thread(t2, other_org, vec![user]);
    let (m1, m2, m3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let add = |index: &mut VectorIndex, m, t, v: [f32; 4]| {
        let (codes, scale) = quantize(&v);
        index.insert(m, t, &codes, scale);
    };
    add(&mut index, m1, a, [1.0, 0.0, 0.0, 0.0]);
    add(&mut index, m2, a, [0.6, 0.8, 0.0, 0.0]);
    add(&mut index, m3, b, [1.0, 0.0, 0.0, 0.0]);
    let hits = index.search(&[1.0, 0.0, 0.0, 0.0], Scope::Member { org, user }, 10);
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![m1, m2]);
    assert!((hits[0].1 - 1.0).abs() < 0.02 && (hits[1].1 - 0.6).abs() < 0.02);
    assert!(index
        .search(
            &[1.0, 0.0, 0.0, 0.0],
            Scope::Member {
                org,
                user: Uuid::new_v4()
            },
            10
        )
        .is_empty());
    // A thread that moves to another org takes its vectors along.
    index.set_thread(t2, org, vec![user]);
    let hits = index.search(&[1.0, 0.0, 0.0, 0.0], Scope::Org(org), 10);
    assert_eq!(hits.len(), 3);
    assert!(index
        .search(&[1.0, 0.0, 0.0, 0.0], Scope::Org(other_org), 10)
        .is_empty());
    index.set_thread(t2, other_org, vec![user]);
    index.remove_thread(t1);
    assert!(index
        .search(&[1.0, 0.0, 0.0, 0.0], Scope::Org(org), 10)
        .is_empty());
    assert_eq!(index.len(), 1);
}

#[test]
fn a_member_sees_the_best_of_their_few_rows_among_many_others() {
    // 40 rows near the query in a thread shared with the user, spread among 4,960 others
    // in a thread of the same org the user is not in.
    let org = Uuid::new_v4();
    let user = Uuid::new_v4();
    let mut index = VectorIndex::new(64);
    let shared = index.set_thread(Uuid::new_v4(), org, vec![user]);
    let other = index.set_thread(Uuid::new_v4(), org, Vec::new());
    let mut random = splitmix(7);
    let query: Vec<f32> = (0..64).map(|_| random()).collect();
    let mut theirs = Vec::new();
    for n in 0..5000 {
        let message = Uuid::new_v4();
        let is_theirs = n % 16 == 0 && theirs.len() < 40;
        let vector: Vec<f32> = if is_theirs {
            theirs.push(message);
            query.iter().map(|q| q + 0.5 * random()).collect()
        } else {
            (0..64).map(|_| random()).collect()
        };
        let (codes, scale) = quantize(&vector);
        index.insert(
            message,
            if is_theirs { shared } else { other },
            &codes,
            scale,
        );
    }
    let scope = Scope::Member { org, user };
    let (query_codes, _) = quantize(&query);
    let mut expected: Vec<(f32, Uuid)> = theirs
        .iter()
        .map(|message| {
            let row = index.row_of[message];
            let mut dot = [0i32];
            scan::bytes_portable(&index.codes, &[row], &query_codes, 64, &mut dot);
            (dot[0] as f32 * index.scales[row], *message)
        })
        .collect();
    expected.sort_by(|a, b| b.0.total_cmp(&a.0));
    let found: Vec<Uuid> = (index.search(&query, scope, 10).into_iter())
        .map(|h| h.0)
        .collect();
    let wanted: Vec<Uuid> = expected.iter().take(10).map(|e| e.1).collect();
    assert_eq!(found, wanted);
}

#[test]
fn the_shortlist_keeps_the_nearest_and_scores_them_exactly() {
    // Ten rows lie near the query, 3,000 elsewhere; the one-bit scan shortlists the best
    // ten, which come back with their 8-bit scores.
    let org = Uuid::new_v4();
    let mut index = VectorIndex::new(64);
    let thread = index.set_thread(Uuid::new_v4(), org, Vec::new());
    let mut random = splitmix(0);
    let query: Vec<f32> = (0..64).map(|_| random()).collect();
    let mut near = Vec::new();
    for n in 0..3010 {
        let vector: Vec<f32> = if n < 10 {
            query.iter().map(|q| q + 0.05 * random()).collect()
        } else {
            (0..64).map(|_| random()).collect()
        };
        let message = Uuid::new_v4();
        if n < 10 {
            near.push(message);
        }
        let (codes, scale) = quantize(&vector);
        index.insert(message, thread, &codes, scale);
    }
    let hits = index.search(&query, Scope::Org(org), 10);
    let mut found: Vec<Uuid> = hits.iter().map(|h| h.0).collect();
    found.sort();
    near.sort();
    assert_eq!(found, near);
    let (query_codes, query_scale) = quantize(&query);
    for (message, score) in hits {
        let row = index.row_of[&message];
        let mut dot = [0i32];
        scan::bytes_portable(&index.codes, &[row], &query_codes, 64, &mut dot);
        assert_eq!(score, dot[0] as f32 * index.scales[row] * query_scale);
    }
}

#[test]
fn the_ranking_keeps_the_best_rows_whatever_floor_the_sample_guesses() {
    // 20,000 rows of one org (and 500 of another); in the second index every row the floor's
    // sample reads lies near the query, so the floor is one that too few rows reach.
    let org = Uuid::new_v4();
    let mut random = splitmix(3);
    let query: Vec<f32> = (0..64).map(|_| random()).collect();
    for sampled_rows_near in [false, true] {
        let mut index = VectorIndex::new(64);
        let thread = index.set_thread(Uuid::new_v4(), org, Vec::new());
        let elsewhere = index.set_thread(Uuid::new_v4(), Uuid::new_v4(), Vec::new());
        for n in 0..20_500 {
            let near = sampled_rows_near && n % (SAMPLE_STRIDE * SAMPLE_RUN) < SAMPLE_RUN;
            let vector: Vec<f32> = if near {
                query.iter().map(|q| q + 0.1 * random()).collect()
            } else {
                (0..64).map(|_| random()).collect()
            };
            let (codes, scale) = quantize(&vector);
            let owner = if n % 41 == 0 { elsewhere } else { thread };
            index.insert(Uuid::new_v4(), owner, &codes, scale);
        }
        let mut dots = vec![0; index.rows.len()];
        (index.scan_bits)(&index.bits, &QueryTables::new(&query), &mut dots);
        let mut every: Vec<(f32, usize)> = (0..index.rows.len())
            .filter(|&row| index.rows[row].thread == thread)
            .map(|row| (dots[row] as f32 * index.bit_factors[row], row))
            .collect();
        every.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for keep in [100, 400, 1000, 3000] {
            let mut found = index.best_rows(&dots, &index.bit_factors, Scope::Org(org), keep);
            found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            assert_eq!(
                found,
                every[..keep],
                "keep {keep}, sampled rows near: {sampled_rows_near}"
            );
        }
    }
}
