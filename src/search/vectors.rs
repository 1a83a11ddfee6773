//! The vector leg: every message's vector in memory, quantized to 8 bits and to one bit per
//! dimension, scored against the query by brute force with a bounded top-k. The one-bit scan
//! (`bits`) reads an eighth of the bytes: it shortlists [`SHORTLIST`] times the rows asked for,
//! and the 8-bit scan (`scan`) scores the shortlist exactly. The org of every row is compared
//! beside its score; membership only for rows that would enter the top k.

use super::best::BestK;
use super::bits::{self, BitCodes, BitScan, QueryTables};
use super::doc::Scope;
use super::scan::{self, Mark, Scan};
use std::cmp::Reverse;
use std::collections::HashMap;
use uuid::Uuid;

thread_local! {
    /// Each query's dot products, one per row: kept per thread so a query allocates nothing.
    static DOTS: std::cell::RefCell<Vec<i32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How many times the rows asked for the one-bit scan shortlists.
pub const SHORTLIST: usize = 10;

struct Row {
    message: Uuid,
    thread: u32,
}

struct ThreadAccess {
    /// The org's ordinal in `org_index`.
    org: u32,
    members: Vec<Uuid>,
    messages: Vec<Uuid>,
}

pub struct VectorIndex {
    dim: usize,
    /// Row-major, `dim` codes per row.
    codes: Vec<i8>,
    /// The rows' signs, in blocks (see `bits`).
    bits: BitCodes,
    /// Per row: the factor that turns a code dot product back into a cosine.
    scales: Vec<f32>,
    /// Per row: the factor that turns a one-bit dot product into an estimate of the cosine
    /// (up to the query's constant).
    bit_factors: Vec<f32>,
    rows: Vec<Row>,
    /// Per row: its thread's org's ordinal, or [`DEAD`]. Kept apart from `rows` so that the
    /// ranking streams through it beside the scores instead of looking rows up one by one.
    row_orgs: Vec<u32>,
    row_of: HashMap<Uuid, usize>,
    /// Each org with vectors, numbered.
    org_index: HashMap<Uuid, u32>,
    threads: Vec<ThreadAccess>,
    thread_index: HashMap<Uuid, u32>,
    dead: usize,
    scan_bytes: Scan,
    scan_bits: BitScan,
    mark: Mark,
}

/// The org ordinal of a removed row.
const DEAD: u32 = u32::MAX;

/// Largest code: 7 bits, so that AVX2's 8-bit multiply-add (`maddubs`) never saturates.
pub const MAX_CODE: f32 = 63.0;

/// Quantizes a vector to codes in -63..=63 and the scale that undoes it.
pub fn quantize(vector: &[f32]) -> (Vec<i8>, f32) {
    let max = vector.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; vector.len()], 0.0);
    }
    let factor = MAX_CODE / max;
    let codes = vector.iter().map(|x| (x * factor).round() as i8).collect();
    (codes, 1.0 / factor)
}

impl VectorIndex {
    pub fn new(dim: usize) -> VectorIndex {
        VectorIndex {
            dim,
            codes: Vec::new(),
            bits: BitCodes::new(dim),
            scales: Vec::new(),
            bit_factors: Vec::new(),
            rows: Vec::new(),
            row_orgs: Vec::new(),
            row_of: HashMap::new(),
            org_index: HashMap::new(),
            threads: Vec::new(),
            thread_index: HashMap::new(),
            dead: 0,
            scan_bytes: scan::bytes(),
            scan_bits: bits::scan(),
            mark: scan::mark(),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.row_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_of.is_empty()
    }

    /// Sets who may see a thread's vectors; call before adding them.
    pub fn set_thread(&mut self, thread: Uuid, org: Uuid, members: Vec<Uuid>) -> u32 {
        let next = self.org_index.len() as u32;
        let org = *self.org_index.entry(org).or_insert(next);
        match self.thread_index.get(&thread) {
            Some(&index) => {
                let access = &mut self.threads[index as usize];
                if access.org != org {
                    for message in &access.messages {
                        self.row_orgs[self.row_of[message]] = org;
                    }
                }
                access.org = org;
                access.members = members;
                index
            }
            None => {
                let index = self.threads.len() as u32;
                self.threads.push(ThreadAccess {
                    org,
                    members,
                    messages: Vec::new(),
                });
                self.thread_index.insert(thread, index);
                index
            }
        }
    }

    /// Adds a message's vector (codes and scale from [`quantize`]). An index made with
    /// dimension 0 takes the dimension of its first vector.
    pub fn insert(&mut self, message: Uuid, thread: u32, codes: &[i8], scale: f32) {
        if self.dim == 0 && self.rows.is_empty() {
            self.dim = codes.len();
            self.bits = BitCodes::new(self.dim);
        }
        assert_eq!(codes.len(), self.dim, "vector of the wrong dimension");
        if let Some(&row) = self.row_of.get(&message) {
            self.codes[row * self.dim..(row + 1) * self.dim].copy_from_slice(codes);
            self.bits.set(row, codes);
            self.scales[row] = scale;
            self.bit_factors[row] = bits::row_factor(codes, scale);
            return;
        }
        self.row_of.insert(message, self.rows.len());
        self.rows.push(Row { message, thread });
        self.row_orgs.push(self.threads[thread as usize].org);
        self.codes.extend_from_slice(codes);
        self.bits.push(codes);
        self.scales.push(scale);
        self.bit_factors.push(bits::row_factor(codes, scale));
        self.threads[thread as usize].messages.push(message);
    }

    /// Removes every vector of a thread (deleted, or about to be re-added).
    pub fn remove_thread(&mut self, thread: Uuid) {
        let Some(&index) = self.thread_index.get(&thread) else {
            return;
        };
        let messages = std::mem::take(&mut self.threads[index as usize].messages);
        for message in messages {
            if let Some(row) = self.row_of.remove(&message) {
                self.row_orgs[row] = DEAD;
                self.scales[row] = 0.0;
                self.bit_factors[row] = 0.0;
                self.dead += 1;
            }
        }
        self.compact_if_sparse();
    }

    /// Compacts once dead rows are many and a quarter of the scan.
    fn compact_if_sparse(&mut self) {
        if self.dead > 1024 && self.dead * 4 > self.rows.len() {
            self.compact();
        }
    }

    /// Removes one message's vector.
    pub fn remove_message(&mut self, message: Uuid) {
        let Some(row) = self.row_of.remove(&message) else {
            return;
        };
        let thread = &mut self.threads[self.rows[row].thread as usize].messages;
        thread.retain(|m| *m != message);
        self.row_orgs[row] = DEAD;
        self.scales[row] = 0.0;
        self.bit_factors[row] = 0.0;
        self.dead += 1;
        self.compact_if_sparse();
    }

    /// Drops dead rows.
    fn compact(&mut self) {
        let dim = self.dim;
        let mut codes = Vec::with_capacity(self.row_of.len() * dim);
        let mut bits = BitCodes::new(dim);
        let mut scales = Vec::with_capacity(self.row_of.len());
        let mut bit_factors = Vec::with_capacity(self.row_of.len());
        let mut rows = Vec::with_capacity(self.row_of.len());
        let mut row_orgs = Vec::with_capacity(self.row_of.len());
        for (row, old) in self.rows.drain(..).enumerate() {
            if self.row_orgs[row] != DEAD {
                self.row_of.insert(old.message, rows.len());
                let row_codes = &self.codes[row * dim..(row + 1) * dim];
                codes.extend_from_slice(row_codes);
                bits.push(row_codes);
                scales.push(self.scales[row]);
                bit_factors.push(self.bit_factors[row]);
                row_orgs.push(self.row_orgs[row]);
                rows.push(old);
            }
        }
        self.codes = codes;
        self.bits = bits;
        self.scales = scales;
        self.bit_factors = bit_factors;
        self.rows = rows;
        self.row_orgs = row_orgs;
        self.dead = 0;
    }

    /// A stored vector, back from its codes.
    pub fn vector_of(&self, message: Uuid) -> Option<Vec<f32>> {
        let row = *self.row_of.get(&message)?;
        let scale = self.scales[row];
        let codes = &self.codes[row * self.dim..(row + 1) * self.dim];
        Some(codes.iter().map(|c| *c as f32 * scale).collect())
    }

    /// The benchmarks' anchor for the scan: the first scan of a search alone over every row
    /// (quantizing the query, no scope, no ranking); returns the best dot product.
    pub fn kernel_only(&self, query: &[f32]) -> i32 {
        if query.len() != self.dim {
            return 0;
        }
        let tables = QueryTables::new(query);
        DOTS.with_borrow_mut(|dots| {
            dots.resize(self.rows.len(), 0);
            (self.scan_bits)(&self.bits, &tables, dots);
            dots.iter().copied().max().unwrap_or(0)
        })
    }

    /// The best `limit` messages by cosine similarity to `query`, within `scope`: the one-bit
    /// scan shortlists, the 8-bit codes score the shortlist.
    pub fn search(&self, query: &[f32], scope: Scope, limit: usize) -> Vec<(Uuid, f32)> {
        self.ranked(query, scope, limit, true)
    }

    /// What [`search`](Self::search) approximates: the 8-bit codes score every row. For
    /// measuring the shortlist's recall.
    pub fn search_exact(&self, query: &[f32], scope: Scope, limit: usize) -> Vec<(Uuid, f32)> {
        self.ranked(query, scope, limit, false)
    }

    fn ranked(
        &self,
        query: &[f32],
        scope: Scope,
        limit: usize,
        shortlist: bool,
    ) -> Vec<(Uuid, f32)> {
        if limit == 0 || self.rows.is_empty() || query.len() != self.dim {
            return Vec::new();
        }
        let (query_codes, query_scale) = quantize(query);
        if query_scale == 0.0 {
            return Vec::new();
        }
        let best = DOTS.with_borrow_mut(|dots| {
            dots.resize(self.rows.len(), 0);
            if !shortlist {
                let every: Vec<usize> = (0..self.rows.len()).collect();
                (self.scan_bytes)(&self.codes, &every, &query_codes, self.dim, dots);
                return self.best_rows(dots, &self.scales, scope, limit);
            }
            (self.scan_bits)(&self.bits, &QueryTables::new(query), dots);
            let mut best = self.best_rows(dots, &self.bit_factors, scope, limit * SHORTLIST);
            self.rescore(&query_codes, &mut best);
            // The best `limit` of the shortlist; `results` below puts them in order.
            if best.len() > limit {
                best.select_nth_unstable_by(limit - 1, |a, b| {
                    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
                });
                best.truncate(limit);
            }
            best
        });
        let mut results: Vec<(Uuid, f32)> = best
            .into_iter()
            .map(|(score, row)| (self.rows[row].message, score * query_scale))
            .collect();
        results.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        results
    }

    /// The `keep` rows in `scope` with the best dot × row scale, as (that score, row). The
    /// query's scale is the same for every row, so it is left out until the end. Rows are
    /// looked at only if they would enter the best `keep`.
    fn best_rows(
        &self,
        dots: &[i32],
        factors: &[f32],
        scope: Scope,
        keep: usize,
    ) -> Vec<(f32, usize)> {
        let (org, member) = match scope {
            Scope::Org(org) => (org, None),
            Scope::Member { org, user } => (org, Some(user)),
        };
        let Some(&org) = self.org_index.get(&org) else {
            return Vec::new();
        };
        let is_member = |row: usize| {
            member.is_none_or(|user| {
                let thread = self.rows[row].thread as usize;
                self.threads[thread].members.contains(&user)
            })
        };
        // Most rows are turned away by the floor from the start; in the rare query where
        // fewer than `keep` reach it, the rows are ranked again without one.
        let in_scope = |row: usize| self.row_orgs[row] == org && is_member(row);
        let floor = sampled_floor(dots, factors, in_scope, keep);
        let mut best = self.rank_rows(dots, factors, org, &is_member, BestK::above(keep, floor));
        if best.len() < keep && floor > f32::NEG_INFINITY {
            best = self.rank_rows(dots, factors, org, &is_member, BestK::new(keep));
        }
        // `search` ranks them again (by exact score, then message id).
        best.into_unordered()
            .into_iter()
            .map(|(score, Reverse(row))| (score, row))
            .collect()
    }

    /// The rows of `org` (and members) scoring at least the threshold of `best`, pushed into
    /// it, among equal scores the earlier row first. A vectorized look at each chunk marks the
    /// rows that would enter, so that the others cost no branch.
    fn rank_rows(
        &self,
        dots: &[i32],
        factors: &[f32],
        org: u32,
        is_member: &impl Fn(usize) -> bool,
        mut best: BestK<Reverse<usize>>,
    ) -> BestK<Reverse<usize>> {
        let chunks = dots
            .chunks(RANK_CHUNK)
            .zip(factors.chunks(RANK_CHUNK))
            .zip(self.row_orgs.chunks(RANK_CHUNK));
        for (chunk, ((dots, factors), orgs)) in chunks.enumerate() {
            let mut marked = (self.mark)(dots, factors, orgs, best.threshold(), org);
            while marked != 0 {
                let i = marked.trailing_zeros() as usize;
                marked &= marked - 1;
                let row = chunk * RANK_CHUNK + i;
                let score = dots[i] as f32 * factors[i];
                if best.accepts(score) && is_member(row) {
                    best.push(score, Reverse(row));
                }
            }
        }
        best
    }

    /// Replaces the shortlisted rows' one-bit estimates with their exact 8-bit scores.
    fn rescore(&self, query_codes: &[i8], shortlist: &mut [(f32, usize)]) {
        let rows: Vec<usize> = shortlist.iter().map(|(_, row)| *row).collect();
        let mut dots = vec![0i32; rows.len()];
        (self.scan_bytes)(&self.codes, &rows, query_codes, self.dim, &mut dots);
        for ((score, row), dot) in shortlist.iter_mut().zip(dots) {
            *score = dot as f32 * self.scales[*row];
        }
    }
}

/// A score that about 1.5 × `keep` rows in scope (`in_scope`) reach, read off one row in
/// [`SAMPLE_STRIDE`]; none (−∞) when too few rows are in the sample to tell.
/// Without it, the ranking's threshold rises from nothing, and on the way a shortlist of
/// 1,000 of 100k rows takes some 5,000 rows in and five selections of 2,000.
fn sampled_floor(
    dots: &[i32],
    factors: &[f32],
    in_scope: impl Fn(usize) -> bool,
    keep: usize,
) -> f32 {
    let rank = keep * 3 / (2 * SAMPLE_STRIDE);
    // A floor from fewer sampled rows misses too often to be worth it.
    if rank < 8 {
        return f32::NEG_INFINITY;
    }
    // Runs of neighbouring rows, read straight through (single rows far apart would each
    // cost a trip to memory).
    let rows = dots.len().min(factors.len());
    let mut sample = Vec::with_capacity(rows / SAMPLE_STRIDE + SAMPLE_RUN);
    for first in (0..rows).step_by(SAMPLE_STRIDE * SAMPLE_RUN) {
        for row in first..rows.min(first + SAMPLE_RUN) {
            if in_scope(row) {
                sample.push(dots[row] as f32 * factors[row]);
            }
        }
    }
    if sample.len() <= rank {
        return f32::NEG_INFINITY;
    }
    sample.select_nth_unstable_by(rank, |a, b| b.total_cmp(a));
    sample[rank]
}

/// One row in this many is scored to guess a ranking's floor (see `sampled_floor`), in runs
/// of `SAMPLE_RUN` neighbours.
const SAMPLE_STRIDE: usize = 32;
const SAMPLE_RUN: usize = 64;

/// Rows ranked a chunk at a time (see `rank_rows`): the bits of a `u64` mark them.
const RANK_CHUNK: usize = scan::MARK_ROWS;

#[cfg(test)]
mod tests;
