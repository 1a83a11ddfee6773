//! The best `k` documents of a scored query among those an access scope allows.
//!
//! Putting the access terms into the query (`Must(words) ∧ Must(access)`) is exact but makes
//! tantivy score every document of the scope against the words. Here the words run as their
//! own query and the scope filters the hits, per segment, in whichever way costs least:
//! - the scope covers the whole segment (one org, the common case): no filter at all;
//! - the scope is a small share of the segment (one member's threads): its documents lead and
//!   each word's postings seek to each of them (`term_sums::Seeker`);
//! - otherwise: the words' hits outside the scope are skipped.
//!
//! The words' scores are exactly tantivy's for the OR of their terms (see `term_sums`).

use super::best::BestK;
use super::term_sums::{Seeker, WeightedTerms};
use std::cmp::Reverse;
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

/// The best `k` hits of `words` whose documents carry every access term, best first.
pub fn top_k(
    searcher: &Searcher,
    words: &WeightedTerms,
    access: &AccessTerms,
    k: usize,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    // Among equal scores the earlier document first, as tantivy's `TopDocs`.
    let mut best = BestK::new(k);
    let mut sums = Vec::new();
    for (ordinal, reader) in searcher.segment_readers().iter().enumerate() {
        let ordinal = ordinal as u32;
        let alive = |doc: DocId| reader.alive_bitset().is_none_or(|bits| bits.is_alive(doc));
        match allowed(reader, access)? {
            Allowed::Few(docs) => {
                let mut seeker = Seeker::new(reader, words)?;
                for doc in docs {
                    if let Some(score) = seeker.score_of(doc).filter(|_| alive(doc)) {
                        best.push(score, Reverse(DocAddress::new(ordinal, doc)));
                    }
                }
            }
            allowed => words.for_each_hit(reader, &mut sums, |doc, score| {
                if allowed.has(doc) && alive(doc) {
                    best.push(score, Reverse(DocAddress::new(ordinal, doc)));
                }
                best.threshold()
            })?,
        }
    }
    Ok(best
        .into_sorted()
        .into_iter()
        .map(|(score, Reverse(address))| (score, address))
        .collect())
}

enum Allowed {
    All,
    /// Ascending.
    Few(Vec<DocId>),
    Many(BitSet),
}

impl Allowed {
    /// Whether the scope lets `doc` through.
    fn has(&self, doc: DocId) -> bool {
        match self {
            Allowed::All => true,
            Allowed::Few(docs) => docs.binary_search(&doc).is_ok(),
            Allowed::Many(bits) => bits.contains(doc),
        }
    }
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
