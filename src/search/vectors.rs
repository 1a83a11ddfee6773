//! The vector leg: every message's vector in memory, quantized to 8 bits, scored against the
//! query by a brute-force dot-product scan (vectorized with AVX2 where the CPU has it) with a
//! bounded top-k. Access is checked only for rows that would enter the top k.

use super::doc::Scope;
use super::Ordered;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use uuid::Uuid;

thread_local! {
    /// Each query's dot products, one per row: kept per thread so a query allocates nothing.
    static DOTS: std::cell::RefCell<Vec<i32>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Row {
    message: Uuid,
    thread: u32,
    alive: bool,
}

struct ThreadAccess {
    org: Uuid,
    members: Vec<Uuid>,
    messages: Vec<Uuid>,
}

pub struct VectorIndex {
    dim: usize,
    /// Row-major, `dim` codes per row.
    codes: Vec<i8>,
    /// Per row: the factor that turns a code dot product back into a cosine.
    scales: Vec<f32>,
    rows: Vec<Row>,
    row_of: HashMap<Uuid, usize>,
    threads: Vec<ThreadAccess>,
    thread_index: HashMap<Uuid, u32>,
    dead: usize,
    kernel: fn(&[i8], &[i8], usize, &mut [i32]),
}

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
            scales: Vec::new(),
            rows: Vec::new(),
            row_of: HashMap::new(),
            threads: Vec::new(),
            thread_index: HashMap::new(),
            dead: 0,
            kernel: kernel(),
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
        match self.thread_index.get(&thread) {
            Some(&index) => {
                let access = &mut self.threads[index as usize];
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
        }
        assert_eq!(codes.len(), self.dim, "vector of the wrong dimension");
        if let Some(&row) = self.row_of.get(&message) {
            self.codes[row * self.dim..(row + 1) * self.dim].copy_from_slice(codes);
            self.scales[row] = scale;
            return;
        }
        self.row_of.insert(message, self.rows.len());
        self.rows.push(Row {
            message,
            thread,
            alive: true,
        });
        self.codes.extend_from_slice(codes);
        self.scales.push(scale);
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
                self.rows[row].alive = false;
                self.scales[row] = 0.0;
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
        self.rows[row].alive = false;
        self.scales[row] = 0.0;
        self.dead += 1;
        self.compact_if_sparse();
    }

    /// Drops dead rows.
    fn compact(&mut self) {
        let dim = self.dim;
        let mut codes = Vec::with_capacity(self.row_of.len() * dim);
        let mut scales = Vec::with_capacity(self.row_of.len());
        let mut rows = Vec::with_capacity(self.row_of.len());
        for (row, old) in self.rows.drain(..).enumerate() {
            if old.alive {
                self.row_of.insert(old.message, rows.len());
                codes.extend_from_slice(&self.codes[row * dim..(row + 1) * dim]);
                scales.push(self.scales[row]);
                rows.push(old);
            }
        }
        self.codes = codes;
        self.scales = scales;
        self.rows = rows;
        self.dead = 0;
    }

    /// A stored vector, back from its codes.
    pub fn vector_of(&self, message: Uuid) -> Option<Vec<f32>> {
        let row = *self.row_of.get(&message)?;
        let scale = self.scales[row];
        let codes = &self.codes[row * self.dim..(row + 1) * self.dim];
        Some(codes.iter().map(|c| *c as f32 * scale).collect())
    }

    /// The benchmarks' anchor for the scan: the kernel alone over every row (quantizing the
    /// query, no scope, no ranking); returns the best dot product.
    pub fn kernel_only(&self, query: &[f32]) -> i32 {
        if query.len() != self.dim {
            return 0;
        }
        let (query_codes, _) = quantize(query);
        DOTS.with_borrow_mut(|dots| {
            dots.resize(self.rows.len(), 0);
            (self.kernel)(&self.codes, &query_codes, self.dim, dots);
            dots.iter().copied().max().unwrap_or(0)
        })
    }

    /// The best `limit` messages by cosine similarity to `query`, within `scope`.
    pub fn search(&self, query: &[f32], scope: Scope, limit: usize) -> Vec<(Uuid, f32)> {
        if limit == 0 || self.rows.is_empty() || query.len() != self.dim {
            return Vec::new();
        }
        let (query_codes, query_scale) = quantize(query);
        if query_scale == 0.0 {
            return Vec::new();
        }
        let allowed = |thread: u32| {
            let access = &self.threads[thread as usize];
            match scope {
                Scope::Org(org) => access.org == org,
                Scope::Member { org, user } => access.org == org && access.members.contains(&user),
            }
        };
        // The query's scale is the same for every row: ranking by dot × row scale is enough
        // until the end. Rows are looked at only if they would enter the best `limit`.
        let mut best: BinaryHeap<Reverse<(Ordered, usize)>> = BinaryHeap::with_capacity(limit + 1);
        DOTS.with_borrow_mut(|dots| {
            dots.resize(self.rows.len(), 0);
            (self.kernel)(&self.codes, &query_codes, self.dim, dots);
            let mut threshold = f32::NEG_INFINITY;
            for (chunk, (dots, scales)) in dots
                .chunks(RANK_CHUNK)
                .zip(self.scales.chunks(RANK_CHUNK))
                .enumerate()
            {
                // Once the best `limit` fill up, most chunks hold nothing better: a branchless
                // (vectorized) look at the whole chunk skips them.
                let mut better = false;
                for (dot, scale) in dots.iter().zip(scales) {
                    better |= *dot as f32 * scale > threshold;
                }
                if !better {
                    continue;
                }
                for (i, (dot, scale)) in dots.iter().zip(scales).enumerate() {
                    let row = chunk * RANK_CHUNK + i;
                    let score = *dot as f32 * scale;
                    if score > threshold && self.rows[row].alive && allowed(self.rows[row].thread) {
                        best.push(Reverse((Ordered(score), row)));
                        if best.len() > limit {
                            best.pop();
                        }
                        if best.len() == limit {
                            threshold = best.peek().map_or(threshold, |Reverse((min, _))| min.0);
                        }
                    }
                }
            }
        });
        let mut results: Vec<(Uuid, f32)> = best
            .into_iter()
            .map(|Reverse((score, row))| (self.rows[row].message, score.0 * query_scale))
            .collect();
        results.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        results
    }
}

/// Rows ranked a chunk at a time (see `search`).
const RANK_CHUNK: usize = 64;

/// Dot products of `query` with each `dim`-sized row of `codes`, into `out`.
#[inline(always)]
fn scan(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    for (row, slot) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        let mut sum = 0i32;
        for (a, b) in row.iter().zip(query) {
            sum += *a as i32 * *b as i32;
        }
        *slot = sum;
    }
}

fn scan_portable(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    scan(codes, query, dim, out)
}

/// AVX2 scan: documents' codes are offset to unsigned (code + 64), multiplied with the query's
/// signed codes 32 at a time by `maddubs` (at most 127·63·2 per pair, so no saturation), and the
/// offset is taken back out with the query's code sum: Σ q·(d+64) − 64·Σ q = Σ q·d.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    use std::arch::x86_64::*;
    if !dim.is_multiple_of(32) {
        return scan(codes, query, dim, out);
    }
    let offset = 64 * query.iter().map(|q| *q as i32).sum::<i32>();
    let bias = _mm256_set1_epi8(64);
    let ones = _mm256_set1_epi16(1);
    let lanes = dim / 32;
    let q: Vec<__m256i> = (0..lanes)
        .map(|l| _mm256_loadu_si256(query.as_ptr().add(l * 32) as *const __m256i))
        .collect();
    for (row, slot) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        let mut acc = _mm256_setzero_si256();
        for (l, ql) in q.iter().enumerate() {
            let d = _mm256_loadu_si256(row.as_ptr().add(l * 32) as *const __m256i);
            let unsigned = _mm256_add_epi8(d, bias);
            let pairs = _mm256_maddubs_epi16(unsigned, *ql);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
        }
        let half = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let quarter = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0b01_00_11_10));
        let single = _mm_add_epi32(quarter, _mm_shuffle_epi32(quarter, 0b10_11_00_01));
        *slot = _mm_cvtsi128_si32(single) - offset;
    }
}

#[cfg(target_arch = "x86_64")]
fn scan_avx2_checked(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    // SAFETY: only chosen by `kernel()` after detecting AVX2 on this CPU.
    unsafe { scan_avx2(codes, query, dim, out) }
}

/// The fastest scan this CPU supports.
fn kernel() -> fn(&[i8], &[i8], usize, &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return scan_avx2_checked;
    }
    scan_portable
}

#[cfg(test)]
mod tests {
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
        index.remove_thread(t1);
        assert!(index
            .search(&[1.0, 0.0, 0.0, 0.0], Scope::Org(org), 10)
            .is_empty());
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn kernels_agree() {
        // Codes span the whole quantized range, -63..=63.
        let codes: Vec<i8> = (0..(300 * 256))
            .map(|i| ((i * 7919) % 127) as i8 - 63)
            .collect();
        let query: Vec<i8> = (0..256).map(|i| ((i * 31) % 127) as i8 - 63).collect();
        let mut portable = vec![0i32; 300];
        let mut fast = vec![0i32; 300];
        scan_portable(&codes, &query, 256, &mut portable);
        (kernel())(&codes, &query, 256, &mut fast);
        assert_eq!(portable, fast);
    }
}
