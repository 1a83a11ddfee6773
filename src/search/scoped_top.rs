//! The best `k` documents of a scored query among those an access scope allows.
//!
//! Putting the access terms into the query (`Must(words) ∧ Must(access)`) is exact but makes
//! tantivy score every document of the scope against the words. Here the words run as their
//! own query and the scope filters the hits, per segment, in whichever way costs least:
//! - the scope covers the whole segment (one org, the common case): no filter at all;
//! - the scope is a small share of the segment (one member's threads): its documents lead and
//!   the words' scorer seeks to each of them;
//! - otherwise: the words' hits outside the scope are skipped.
//!
//! The words are scored exhaustively by tantivy's buffered union, not with its block-max WAND
//! (`for_each_pruning`, what `TopDocs` uses): on the Cranfield corpus at 100k messages, WAND was
//! about 3× slower for both 10 and 100 hits (`skein bench search`; its `tantivy` anchor is
//! `TopDocs`). Queries have their very common terms dropped first (`TextIndex::search`), which
//! is where WAND would save most. Scores are the words' BM25 scores, exactly as before.

use super::Ordered;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use tantivy::query::Weight;
use tantivy::schema::IndexRecordOption;
use tantivy::{
    BitSet, DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, Term, TERMINATED,
};

/// A scope sparser than this share of a segment leads the words instead of filtering them.
const SPARSE_SHARE: usize = 16;

/// Who may see a document: every term of `all_of` (ids in `STRING` fields) must be on it.
pub struct AccessTerms {
    pub all_of: Vec<Term>,
}

/// The best `k` hits of `words` (a weight built with scoring on) whose documents carry every
/// access term, best first.
pub fn top_k(
    searcher: &Searcher,
    words: &dyn Weight,
    access: &AccessTerms,
    k: usize,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    let mut best = TopK::new(k);
    for (ordinal, reader) in searcher.segment_readers().iter().enumerate() {
        let ordinal = ordinal as u32;
        let alive = |doc: DocId| reader.alive_bitset().is_none_or(|bits| bits.is_alive(doc));
        match allowed(reader, access)? {
            Allowed::All => words.for_each(reader, &mut |doc, score| {
                if best.accepts(score) && alive(doc) {
                    best.push(score, DocAddress::new(ordinal, doc));
                }
            })?,
            Allowed::Few(docs) => {
                let mut scorer = words.scorer(reader, 1.0)?;
                for doc in docs {
                    if scorer.doc() < doc && scorer.seek(doc) == TERMINATED {
                        break;
                    }
                    if scorer.doc() == doc && alive(doc) {
                        best.push(scorer.score(), DocAddress::new(ordinal, doc));
                    }
                }
            }
            Allowed::Many(bits) => words.for_each(reader, &mut |doc, score| {
                if best.accepts(score) && bits.contains(doc) && alive(doc) {
                    best.push(score, DocAddress::new(ordinal, doc));
                }
            })?,
        }
    }
    Ok(best.into_sorted())
}

enum Allowed {
    All,
    /// Ascending.
    Few(Vec<DocId>),
    Many(BitSet),
}

/// The documents of a segment that carry every access term.
fn allowed(reader: &SegmentReader, access: &AccessTerms) -> tantivy::Result<Allowed> {
    let max_doc = reader.max_doc();
    let mut postings = Vec::with_capacity(access.all_of.len());
    for term in &access.all_of {
        let index = reader.inverted_index(term.field())?;
        if index.doc_freq(term)? == max_doc {
            continue; // every document of the segment has it
        }
        match index.read_postings(term, IndexRecordOption::Basic)? {
            Some(list) => postings.push(list),
            None => return Ok(Allowed::Few(Vec::new())),
        }
    }
    if postings.is_empty() {
        return Ok(Allowed::All);
    }
    // The rarest list leads; the others seek to its documents.
    postings.sort_by_key(|list| list.doc_freq());
    let (lead, rest) = postings.split_first_mut().expect("at least one list");
    let mut docs = Vec::with_capacity(lead.doc_freq() as usize);
    let mut doc = lead.doc();
    while doc != TERMINATED {
        if rest
            .iter_mut()
            .all(|list| list.doc() == doc || (list.doc() < doc && list.seek(doc) == doc))
        {
            docs.push(doc);
        }
        doc = lead.advance();
    }
    if docs.len() * SPARSE_SHARE <= max_doc as usize {
        return Ok(Allowed::Few(docs));
    }
    let mut bits = BitSet::with_max_value(max_doc);
    for doc in docs {
        bits.insert(doc);
    }
    Ok(Allowed::Many(bits))
}

/// The best `k` so far, in a min-heap.
struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<Hit>>,
    /// The k-th best score once there are k hits (until then, any score enters): most hits
    /// score below it, and one float comparison turns them away.
    threshold: Score,
}

/// By score, then the earlier document first among equals (as tantivy's `TopDocs`).
type Hit = (Ordered, Reverse<DocAddress>);

impl TopK {
    fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
            threshold: if k == 0 {
                Score::INFINITY
            } else {
                Score::NEG_INFINITY
            },
        }
    }

    /// Whether a hit of `score` could enter (ties are settled by `push`).
    fn accepts(&self, score: Score) -> bool {
        score >= self.threshold
    }

    fn push(&mut self, score: Score, address: DocAddress) {
        if !self.accepts(score) {
            return;
        }
        let hit = (Ordered(score), Reverse(address));
        if self.heap.len() < self.k {
            self.heap.push(Reverse(hit));
        } else if let Some(mut min) = self.heap.peek_mut() {
            if hit > min.0 {
                *min = Reverse(hit);
            }
        }
        if self.heap.len() == self.k {
            self.threshold = self.heap.peek().map_or(self.threshold, |min| min.0 .0 .0);
        }
    }

    fn into_sorted(self) -> Vec<(Score, DocAddress)> {
        let mut hits: Vec<Hit> = self.heap.into_iter().map(|Reverse(hit)| hit).collect();
        hits.sort_by(|a, b| b.cmp(a));
        hits.into_iter()
            .map(|(score, Reverse(address))| (score.0, address))
            .collect()
    }
}
