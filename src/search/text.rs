//! The full-text leg: a tantivy index of message documents, BM25-scored, with access terms that
//! restrict hits to a scope (see `scoped_top`).

use super::doc::{IndexDoc, Scope};
use super::scoped_top::{self, AccessTerms};
use super::term_sums::WeightedTerms;
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use uuid::Uuid;

const ANALYZER: &str = "skein_en";
/// Terms found in more than this share of documents are dropped from queries (see `selective_terms`).
pub const COMMON_TERM_SHARE: f64 = 0.5;
/// The rarest terms of a query are kept whatever their share.
pub const MIN_TERMS: usize = 3;
/// Distinct query terms used at most; longer prompts are cut to their first terms.
pub const MAX_QUERY_TERMS: usize = 64;

#[derive(Clone, Copy)]
struct Fields {
    message_hi: Field,
    message_lo: Field,
    /// The message id as a term, to replace one message's document.
    message: Field,
    thread: Field,
    org: Field,
    member: Field,
    text: Field,
}

pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    /// `None` after a write failed (tantivy's writer is dead then): the next write opens a
    /// new one, so the index takes writes again once, say, disk space is back.
    writer: std::sync::Mutex<Option<IndexWriter>>,
    writer_memory: usize,
    fields: Fields,
    analyzer: std::sync::Mutex<TextAnalyzer>,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        message_hi: builder.add_u64_field("message_hi", FAST),
        message_lo: builder.add_u64_field("message_lo", FAST),
        message: builder.add_text_field("message", STRING),
        thread: builder.add_text_field("thread", STRING),
        org: builder.add_text_field("org", STRING),
        member: builder.add_text_field("member", STRING),
        text: builder.add_text_field("text", text_options),
    };
    (builder.build(), fields)
}

/// Lower-cased words without English stop words, stemmed.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English stop words"))
        .filter(Stemmer::new(Language::English))
        .build()
}

impl TextIndex {
    /// Opens the index in `dir` (creating it), or in memory when `dir` is `None`.
    pub fn open(dir: Option<&Path>, writer_memory: usize) -> tantivy::Result<TextIndex> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let directory = MmapDirectory::open(dir)?;
                Index::open_or_create(directory, schema)?
            }
            None => Index::create_in_ram(schema),
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = new_writer(&index, writer_memory)?;
        Ok(TextIndex {
            index,
            reader,
            writer: std::sync::Mutex::new(Some(writer)),
            writer_memory,
            fields,
            analyzer: std::sync::Mutex::new(analyzer()),
        })
    }

    /// Reads every file of the index and checks it against its checksum (tantivy opens
    /// segments lazily, so a damaged file would otherwise surface only in some query).
    pub fn check(&self) -> tantivy::Result<()> {
        let damaged = self.index.validate_checksum()?;
        if damaged.is_empty() {
            Ok(())
        } else {
            let files: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
            Err(tantivy::TantivyError::SystemError(format!(
                "damaged files: {}",
                files.join(", ")
            )))
        }
    }

    /// The payload of the last commit (the store sequence it covers).
    pub fn committed_payload(&self) -> Option<String> {
        self.index.load_metas().ok().and_then(|metas| metas.payload)
    }

    pub fn delete_thread(&self, thread_id: Uuid) -> tantivy::Result<()> {
        self.delete_id(self.fields.thread, thread_id)
    }

    pub fn delete_message(&self, message_id: Uuid) -> tantivy::Result<()> {
        self.delete_id(self.fields.message, message_id)
    }

    /// Deletes the documents whose `field` holds `id`.
    fn delete_id(&self, field: Field, id: Uuid) -> tantivy::Result<()> {
        let term = Term::from_field_text(field, &id.to_string());
        self.with_writer(|writer| {
            writer.delete_term(term);
            Ok(())
        })
    }

    pub fn delete_all(&self) -> tantivy::Result<()> {
        self.with_writer(|writer| writer.delete_all_documents().map(|_| ()))
    }

    pub fn add(&self, doc: &IndexDoc) -> tantivy::Result<()> {
        let f = self.fields;
        let (hi, lo) = split(doc.message_id);
        let mut document = TantivyDocument::default();
        document.add_u64(f.message_hi, hi);
        document.add_u64(f.message_lo, lo);
        document.add_text(f.message, doc.message_id.to_string());
        document.add_text(f.thread, doc.thread_id.to_string());
        document.add_text(f.org, doc.org_id.to_string());
        for member in &doc.members {
            document.add_text(f.member, member.to_string());
        }
        document.add_text(f.text, &doc.text);
        self.with_writer(|writer| writer.add_document(document).map(|_| ()))
    }

    /// Commits pending changes with `payload` and makes them searchable.
    pub fn commit(&self, payload: &str) -> tantivy::Result<()> {
        self.with_writer(|writer| {
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(payload);
            prepared.commit().map(|_| ())
        })?;
        self.reader.reload()
    }

    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> tantivy::Result<T>,
    ) -> tantivy::Result<T> {
        let mut slot = self.writer.lock().unwrap();
        if slot.is_none() {
            *slot = Some(new_writer(&self.index, self.writer_memory)?);
        }
        let result = f(slot.as_mut().expect("a writer was just opened"));
        if result.is_err() {
            // Its uncommitted changes are lost with it; the indexer redoes them from the
            // store's change log, which is pruned only after a commit.
            *slot = None;
        }
        result
    }

    /// Waits for background segment merges to finish (after a bulk rebuild), so queries run
    /// on few segments and do not share the CPU with merging.
    pub fn settle(&self) -> tantivy::Result<()> {
        let mut slot = self.writer.lock().unwrap();
        if let Some(mut old) = slot.take() {
            // One segment: each query pays per segment (term lookups, a top-k pass).
            let segments = self.index.searchable_segment_ids()?;
            if segments.len() > 1 {
                old.merge(&segments).wait()?;
            }
            old.wait_merging_threads()?;
        }
        *slot = Some(new_writer(&self.index, self.writer_memory)?);
        drop(slot);
        self.reader.reload()
    }

    /// The stemmed, de-duplicated terms of a prompt (at most [`MAX_QUERY_TERMS`]).
    pub fn terms(&self, prompt: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.lock().unwrap();
        let mut stream = analyzer.token_stream(prompt);
        let mut terms: Vec<String> = Vec::new();
        while let Some(token) = stream.next() {
            if !terms.contains(&token.text) {
                terms.push(token.text.clone());
                if terms.len() == MAX_QUERY_TERMS {
                    break;
                }
            }
        }
        terms
    }

    /// The query's terms that are worth their cost: terms in more than [`COMMON_TERM_SHARE`] of
    /// the documents add little to BM25 (their IDF is near zero) but most of the work, so they
    /// are dropped while at least [`MIN_TERMS`] of the rarer ones remain.
    fn selective_terms(&self, searcher: &Searcher, terms: &[String]) -> tantivy::Result<Vec<Term>> {
        let total = searcher.num_docs().max(1) as f64;
        let mut scored = Vec::with_capacity(terms.len());
        for text in terms {
            let term = Term::from_field_text(self.fields.text, text);
            let df = searcher.doc_freq(&term)?;
            if df > 0 {
                scored.push((df, term));
            }
        }
        scored.sort_by_key(|(df, _)| *df);
        let keep = scored
            .iter()
            .enumerate()
            .take_while(|(i, (df, _))| *i < MIN_TERMS || (*df as f64 / total) <= COMMON_TERM_SHARE)
            .count();
        scored.truncate(keep);
        Ok(scored.into_iter().map(|(_, term)| term).collect())
    }

    /// The best `limit` messages for `terms` within `scope`, by BM25.
    pub fn search(
        &self,
        terms: &[String],
        scope: Scope,
        limit: usize,
    ) -> tantivy::Result<Vec<(Uuid, f32)>> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let words = WeightedTerms::new(&searcher, self.selective_terms(&searcher, terms)?)?;
        let id = |field: Field, id: Uuid| Term::from_field_text(field, &id.to_string());
        let access = AccessTerms {
            all_of: match scope {
                Scope::Org(org) => vec![id(f.org, org)],
                Scope::Member { org, user } => vec![id(f.member, user), id(f.org, org)],
            },
        };
        let hits = scoped_top::top_k(&searcher, &words, &access, limit)?;
        self.message_ids(&searcher, hits)
    }

    /// The benchmark's anchor: tantivy's own `TopDocs` over the same index for the OR of all
    /// `terms`, with no access filter and no term selection.
    pub fn search_unscoped(
        &self,
        terms: &[String],
        limit: usize,
    ) -> tantivy::Result<Vec<(Uuid, f32)>> {
        let words = any_of(
            terms
                .iter()
                .map(|text| Term::from_field_text(self.fields.text, text)),
        );
        let searcher = self.reader.searcher();
        let hits = searcher.search(&words, &TopDocs::with_limit(limit).order_by_score())?;
        self.message_ids(&searcher, hits)
    }

    fn message_ids(
        &self,
        searcher: &Searcher,
        hits: Vec<(f32, DocAddress)>,
    ) -> tantivy::Result<Vec<(Uuid, f32)>> {
        // Each segment's id columns are opened once (opening one looks it up by name).
        let mut columns = vec![None; searcher.segment_readers().len()];
        let mut results = Vec::with_capacity(hits.len());
        for (score, address) in hits {
            let (hi, lo) = match &columns[address.segment_ord as usize] {
                Some(pair) => pair,
                None => {
                    let fields = searcher.segment_reader(address.segment_ord).fast_fields();
                    let pair = (fields.u64("message_hi")?, fields.u64("message_lo")?);
                    columns[address.segment_ord as usize].insert(pair)
                }
            };
            if let (Some(hi), Some(lo)) = (hi.first(address.doc_id), lo.first(address.doc_id)) {
                results.push((join(hi, lo), score));
            }
        }
        Ok(results)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// A writer with one indexing thread, whose merges also purge deleted documents early.
///
/// Each indexing thread starts a segment of its own after every commit, and a segment costs a
/// fixed ~10 files and writer set-up whatever it holds: under a steady stream of small writes
/// (then a commit every 250 ms) a second thread doubled that cost (tantivy's indexing was 14 %
/// of a 32-client write load's server CPU with two, 7 % with one) while a full rebuild of
/// 100k messages took as long with one (its time goes to reading the store).
///
/// BM25 statistics count deleted documents until their segment is merged, and every change to a
/// thread deletes and re-adds its messages; merging segments once a fifth of them is deleted
/// keeps scores close to those of a freshly built index.
fn new_writer(index: &Index, memory: usize) -> tantivy::Result<IndexWriter> {
    let writer = index.writer_with_num_threads(1, memory)?;
    let mut policy = tantivy::indexer::LogMergePolicy::default();
    policy.set_del_docs_ratio_before_merge(0.2);
    writer.set_merge_policy(Box::new(policy));
    Ok(writer)
}

/// The BM25-scored OR of `terms`.
fn any_of(terms: impl IntoIterator<Item = Term>) -> BooleanQuery {
    BooleanQuery::new(
        terms
            .into_iter()
            .map(|term| {
                let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                (Occur::Should, Box::new(query) as Box<dyn Query>)
            })
            .collect(),
    )
}

fn split(id: Uuid) -> (u64, u64) {
    let value = id.as_u128();
    ((value >> 64) as u64, value as u64)
}

fn join(hi: u64, lo: u64) -> Uuid {
    Uuid::from_u128(((hi as u128) << 64) | lo as u128)
}

#[cfg(test)]
mod tests;
