//! The text leg's scoring: the BM25 sum of a query's terms, added up term after term into one
//! score per document of the segment.
//!
//! Each document's score is exactly tantivy's for the OR of the terms (a `BooleanQuery` of
//! `Should` term queries, what `TextIndex::search` asked before): the same per-term BM25
//! weights, added from zero in the query's order as tantivy's buffered union adds them.
//!
//! Why not tantivy's union: prompts are long and most of their terms fairly common, so a query
//! touches most documents of a segment (at 100k Cranfield messages, ~130k postings per query).
//! Here each term's postings are added, a block at a time, into a dense array of scores for a
//! window of documents (see [`WINDOW`]), which is then read 64 documents at a time: a run none
//! of which reaches the k-th best score so far costs one vectorized comparison, where the union
//! called back for every matching document. `skein bench search --threads 1`: the BM25
//! leg's p50 0.37 ms against the union's 0.66 ms. Skipping documents that cannot make the top k
//! was slower still: tantivy's block-max WAND (`TopDocs`) ~3×, and MaxScore, tried both a
//! document at a time and in windows, ~1.4× in hybrid queries (which ask for 100 hits): with so
//! many matching documents there is little to skip, and the skipping costs seeks. Looking up
//! each term's scores for frequencies 1–3 (a table per term and query) instead of dividing
//! per posting was slower too: BM25 p50 0.42–0.66 ms against 0.35–0.40, alternating. One table
//! of `tf / (tf + norm)` shared by all of a query's terms (bit-exact against `Bm25Weight`) was
//! no faster either (1.07 against 1.01 perf samples per query): the loop below waits on its
//! scattered adds into `sums`, not on the division. Nor did the arithmetic vectorize to any
//! gain: scoring a block in three passes (the lengths looked up, then the block's scores in
//! SIMD, then the adds) made the BM25 leg slower (1,422–1,489 against 1,849–2,011 q/s,
//! alternating), and so did windows of 4,096 documents, whose sums stay in L1 (1,960–1,967
//! against 2,034–2,271).

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{BlockSegmentPostings, Postings, SegmentPostings};
use tantivy::query::Bm25Weight;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, Term};

/// A query's terms in query order, each with its BM25 weight over the whole index.
pub struct WeightedTerms {
    terms: Vec<(Term, Bm25Weight)>,
}

impl WeightedTerms {
    /// The weights tantivy's `TermQuery` gives `terms` when scoring with `searcher`.
    pub fn new(searcher: &Searcher, terms: Vec<Term>) -> tantivy::Result<WeightedTerms> {
        let mut weighted = Vec::with_capacity(terms.len());
        for term in terms {
            let weight = Bm25Weight::for_terms(searcher, std::slice::from_ref(&term))?;
            weighted.push((term, weight));
        }
        Ok(WeightedTerms { terms: weighted })
    }

    /// Calls `hit` with the documents of the segment some term is on and their scores, in
    /// document order, skipping those below the score `hit` last said a document needs.
    /// `sums` is scratch space, kept by the caller between segments.
    pub fn for_each_hit(
        &self,
        reader: &SegmentReader,
        sums: &mut Vec<Score>,
        mut hit: impl FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let mut lists = Vec::with_capacity(self.terms.len());
        for (term, weight) in &self.terms {
            let index = reader.inverted_index(term.field())?;
            if let Some(postings) = index.read_block_postings(term, IndexRecordOption::WithFreqs)? {
                lists.push(BlockList {
                    postings,
                    next: 0,
                    fieldnorms: fieldnorms(reader, term)?,
                    weight,
                });
            }
        }
        let mut floor = f32::MIN_POSITIVE;
        let max_doc = reader.max_doc();
        let mut start: DocId = 0;
        while start < max_doc {
            let end = start.saturating_add(WINDOW).min(max_doc);
            sums.clear();
            sums.resize((end - start) as usize, 0.0);
            for list in &mut lists {
                list.add_until(end, start, sums);
            }
            // A term's score is positive (its IDF is, in f32, below ~8M documents even for a
            // term on all of them), so a zero sum means no term is on the document.
            for (chunk_index, chunk) in sums.chunks(CHUNK).enumerate() {
                if chunk.iter().fold(0.0f32, |max, &score| max.max(score)) < floor {
                    continue;
                }
                for (i, &score) in chunk.iter().enumerate() {
                    if score >= floor {
                        let doc = start + (chunk_index * CHUNK + i) as DocId;
                        floor = hit(doc, score).max(f32::MIN_POSITIVE);
                    }
                }
            }
            start = end;
        }
        Ok(())
    }
}

/// Documents summed at a time: bounds the scratch space (256 KiB) whatever the segment's size,
/// and keeps it in the CPU's cache.
#[cfg(not(test))]
const WINDOW: DocId = 1 << 16;
/// Small in unit tests, so that their few thousand documents cross windows (and blocks of
/// postings within them).
#[cfg(test)]
const WINDOW: DocId = 200;

/// Sums looked at a time: a run none of which reaches the floor costs one comparison.
const CHUNK: usize = 64;

/// One term's postings in a segment, read a block at a time.
struct BlockList<'a> {
    postings: BlockSegmentPostings,
    /// The first posting of the loaded block not yet added.
    next: usize,
    fieldnorms: FieldNormReader,
    weight: &'a Bm25Weight,
}

impl BlockList<'_> {
    /// Adds the term's scores of documents before `end` to `sums` (which starts at `start`).
    fn add_until(&mut self, end: DocId, start: DocId, sums: &mut [Score]) {
        loop {
            let docs = &self.postings.docs()[self.next..];
            if docs.is_empty() {
                return;
            }
            let freqs = &self.postings.freqs()[self.next..];
            // The block's documents before `end`: all of them but in the window's last block,
            // so that the loop below checks no bound of its own.
            let before = match docs.last() {
                Some(&last) if last < end => docs.len(),
                _ => docs.partition_point(|&doc| doc < end),
            };
            for (&doc, &freq) in docs[..before].iter().zip(&freqs[..before]) {
                let score = self.weight.score(self.fieldnorms.fieldnorm_id(doc), freq);
                sums[(doc - start) as usize] += score;
            }
            if before < docs.len() {
                self.next += before;
                return;
            }
            self.postings.advance();
            self.next = 0;
        }
    }
}

/// Scores chosen documents of a segment, seeking each term's postings to them.
pub struct Seeker<'a> {
    lists: Vec<(SegmentPostings, FieldNormReader, &'a Bm25Weight)>,
}

impl<'a> Seeker<'a> {
    pub fn new(reader: &SegmentReader, query: &'a WeightedTerms) -> tantivy::Result<Seeker<'a>> {
        let mut lists = Vec::with_capacity(query.terms.len());
        for (term, weight) in &query.terms {
            let index = reader.inverted_index(term.field())?;
            if let Some(postings) = index.read_postings(term, IndexRecordOption::WithFreqs)? {
                lists.push((postings, fieldnorms(reader, term)?, weight));
            }
        }
        Ok(Seeker { lists })
    }

    /// The score of `doc` if some term is on it. Documents must be asked in ascending order.
    pub fn score_of(&mut self, doc: DocId) -> Option<Score> {
        let mut sum: Option<Score> = None;
        for (postings, fieldnorms, weight) in &mut self.lists {
            if postings.doc() < doc {
                postings.seek(doc);
            }
            if postings.doc() == doc {
                let score = weight.score(fieldnorms.fieldnorm_id(doc), postings.term_freq());
                sum = Some(sum.unwrap_or(0.0) + score);
            }
        }
        sum
    }
}

/// The field's lengths, as tantivy's `TermWeight` reads them (all 1 when none are stored).
fn fieldnorms(reader: &SegmentReader, term: &Term) -> tantivy::Result<FieldNormReader> {
    Ok(reader
        .fieldnorms_readers()
        .get_field(term.field())?
        .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1)))
}
