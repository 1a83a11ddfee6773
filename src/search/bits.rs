//! One-bit codes of the vector leg and their scan, which shortlists rows for the exact 8-bit
//! scan (`scan`).
//!
//! A row keeps the sign of each dimension; the query keeps its values. Their dot product
//! `⟨q, sign x⟩`, times the row's factor `‖x‖² / ‖x‖₁`, estimates `⟨q, x⟩` (the estimator of
//! RaBitQ, Gao & Long, SIGMOD 2024). Dimensions go in groups of four: for each group the query
//! has a table of the sixteen dot products its values can make with four signs, and a row's
//! four sign bits (a nibble) pick one. Rows are stored transposed in blocks of 32, so that one
//! AVX2 byte shuffle looks up the same group's table for 32 rows at once (the layout of
//! "fast scan", André et al., VLDB 2015); the scan reads an eighth of the 8-bit codes' bytes.
//!
//! Layout: block `b` holds rows `32b..32b+32`; within it group `g` takes 16 bytes, byte `k`
//! holding row `32b + k`'s nibble in its low half and row `32b + 16 + k`'s in its high half.
//! Groups are padded to an even count (zero bits, zero query values), so that one 32-byte load
//! covers two groups.

/// Rows per block.
pub const BLOCK_ROWS: usize = 32;
/// Bytes per group in a block.
const GROUP_BYTES: usize = 16;

/// Groups of four dimensions in a row of `dim`, padded to an even count.
fn groups_of(dim: usize) -> usize {
    dim.div_ceil(4).next_multiple_of(2)
}

/// The one-bit codes of every row, in blocks.
pub struct BitCodes {
    groups: usize,
    rows: usize,
    blocks: Vec<u8>,
}

impl BitCodes {
    pub fn new(dim: usize) -> BitCodes {
        BitCodes {
            groups: groups_of(dim),
            rows: 0,
            blocks: Vec::new(),
        }
    }

    fn block_bytes(&self) -> usize {
        self.groups * GROUP_BYTES
    }

    /// Appends a row (its 8-bit codes).
    pub fn push(&mut self, codes: &[i8]) {
        if self.rows.is_multiple_of(BLOCK_ROWS) {
            let grown = self.blocks.len() + self.block_bytes();
            self.blocks.resize(grown, 0);
        }
        self.rows += 1;
        self.set(self.rows - 1, codes);
    }

    /// Replaces a row's bits.
    pub fn set(&mut self, row: usize, codes: &[i8]) {
        let block = (row / BLOCK_ROWS) * self.block_bytes();
        let (k, shift) = (row % 16, if row % BLOCK_ROWS < 16 { 0 } else { 4 });
        for g in 0..self.groups {
            let byte = &mut self.blocks[block + g * GROUP_BYTES + k];
            *byte = (*byte & !(0x0F << shift)) | nibble(codes, g) << shift;
        }
    }

    /// A row's nibble of group `g`.
    fn nibble_at(&self, row: usize, g: usize) -> u8 {
        let byte =
            self.blocks[(row / BLOCK_ROWS) * self.block_bytes() + g * GROUP_BYTES + row % 16];
        if row % BLOCK_ROWS < 16 {
            byte & 0x0F
        } else {
            byte >> 4
        }
    }
}

/// The sign bits of dimensions `4g..4g+4` (bit `j` set when dimension `4g + j` is positive).
fn nibble(codes: &[i8], g: usize) -> u8 {
    (0..4).fold(0, |n, j| {
        n | (u8::from(codes.get(4 * g + j).is_some_and(|c| *c > 0)) << j)
    })
}

/// The factor that turns a row's `⟨q, sign x⟩` into an estimate of `⟨q, x⟩`: `‖x‖² / ‖x‖₁`,
/// from its 8-bit codes and their scale.
pub fn row_factor(codes: &[i8], scale: f32) -> f32 {
    let (squares, absolutes) = codes.iter().fold((0i64, 0i64), |(s, a), c| {
        (s + (*c as i64).pow(2), a + (*c as i64).abs())
    });
    if absolutes == 0 {
        0.0
    } else {
        scale * squares as f32 / absolutes as f32
    }
}

/// A query's tables: per group, the sixteen values of `⟨q, signs⟩` shifted to start at 0 and
/// quantized to a byte. `offset` adds back the shifts, so that a row's table sum plus
/// `offset` is `⟨q, sign x⟩` in units of one step (the same for every row).
pub struct QueryTables {
    tables: Vec<u8>,
    offset: i32,
}

impl QueryTables {
    pub fn new(query: &[f32]) -> QueryTables {
        let groups = groups_of(query.len());
        let value = |i: usize| query.get(i).copied().unwrap_or(0.0);
        // A group's values run from -Σ|q| (no bit set where q > 0) to +Σ|q|.
        let spans: Vec<f32> = (0..groups)
            .map(|g| (0..4).map(|j| value(4 * g + j).abs()).sum())
            .collect();
        let widest = spans.iter().fold(0f32, |m, s| m.max(*s));
        let step = if widest > 0.0 {
            2.0 * widest / 255.0
        } else {
            1.0
        };
        let mut tables = Vec::with_capacity(groups * GROUP_BYTES);
        for (g, span) in spans.iter().enumerate() {
            for n in 0..16u8 {
                let dot: f32 = (0..4)
                    .map(|j| {
                        let q = value(4 * g + j);
                        if n >> j & 1 == 1 {
                            q
                        } else {
                            -q
                        }
                    })
                    .sum();
                tables.push(((dot + span) / step).round() as u8);
            }
        }
        let offset = (-spans.iter().sum::<f32>() / step).round() as i32;
        QueryTables { tables, offset }
    }
}

/// A scan: every row's `⟨q, sign x⟩` (in the tables' steps) into `out`.
pub type BitScan = fn(&BitCodes, &QueryTables, &mut [i32]);

/// The fastest scan this CPU supports.
pub fn scan() -> BitScan {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return scan_avx2_checked;
    }
    scan_portable
}

pub fn scan_portable(codes: &BitCodes, query: &QueryTables, out: &mut [i32]) {
    for (row, slot) in out.iter_mut().enumerate().take(codes.rows) {
        *slot = query.offset
            + (0..codes.groups)
                .map(|g| query.tables[g * GROUP_BYTES + codes.nibble_at(row, g) as usize] as i32)
                .sum::<i32>();
    }
}

/// Pairs of groups summed in 16-bit lanes before they are widened: each adds at most 255 to a
/// lane, and the two lanes of a row add up, so 128 pairs stay under 65,536.
#[cfg(target_arch = "x86_64")]
const PAIRS_PER_ROUND: usize = 128;

/// AVX2 scan: per pair of groups one 32-byte load holds the nibbles of 32 rows for both; two
/// shuffles look them up in the pair's tables (the low halves for rows 0..16, the high halves
/// for rows 16..32), and the bytes add up in 16-bit lanes: the odd rows' shifted down on their
/// own, the even rows' with them and then less them (as Faiss's fast scan: two instructions
/// fewer per pair than masking the even rows' out).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(codes: &BitCodes, query: &QueryTables, out: &mut [i32]) {
    use std::arch::x86_64::*;
    let mask = _mm256_set1_epi8(0x0F);
    let pairs = codes.groups / 2;
    let block_bytes = codes.block_bytes();
    let rows = codes.rows.min(out.len());
    for (b, first) in (0..rows).step_by(BLOCK_ROWS).enumerate() {
        let block = codes.blocks.as_ptr().add(b * block_bytes);
        let mut sums = [query.offset; BLOCK_ROWS];
        for round in (0..pairs).step_by(PAIRS_PER_ROUND) {
            // Rows 0..16 even and odd, rows 16..32 even and odd.
            let mut acc = [_mm256_setzero_si256(); 4];
            for p in round..pairs.min(round + PAIRS_PER_ROUND) {
                let nibbles = _mm256_loadu_si256(block.add(p * 32) as *const __m256i);
                let tables =
                    _mm256_loadu_si256(query.tables.as_ptr().add(p * 32) as *const __m256i);
                let low = _mm256_shuffle_epi8(tables, _mm256_and_si256(nibbles, mask));
                let high = _mm256_shuffle_epi8(
                    tables,
                    _mm256_and_si256(_mm256_srli_epi16(nibbles, 4), mask),
                );
                // Whole 16-bit lanes add the even row's byte plus 256 times the odd row's;
                // the odd rows' own sums are taken back out below (all modulo 65,536, which
                // the even rows' sums stay under).
                acc[0] = _mm256_add_epi16(acc[0], low);
                acc[1] = _mm256_add_epi16(acc[1], _mm256_srli_epi16(low, 8));
                acc[2] = _mm256_add_epi16(acc[2], high);
                acc[3] = _mm256_add_epi16(acc[3], _mm256_srli_epi16(high, 8));
            }
            for (half, pair) in acc.chunks_exact(2).enumerate() {
                // Each 128-bit lane holds one group of the pair: add them, then interleave
                // even and odd rows back into order.
                let even = fold_lanes(_mm256_sub_epi16(pair[0], _mm256_slli_epi16(pair[1], 8)));
                let odd = fold_lanes(pair[1]);
                let first_eight = _mm256_cvtepu16_epi32(_mm_unpacklo_epi16(even, odd));
                let next_eight = _mm256_cvtepu16_epi32(_mm_unpackhi_epi16(even, odd));
                let at = sums.as_mut_ptr().add(half * 16) as *mut __m256i;
                _mm256_storeu_si256(at, _mm256_add_epi32(_mm256_loadu_si256(at), first_eight));
                let at = at.add(1);
                _mm256_storeu_si256(at, _mm256_add_epi32(_mm256_loadu_si256(at), next_eight));
            }
        }
        let count = BLOCK_ROWS.min(rows - first);
        out[first..first + count].copy_from_slice(&sums[..count]);
    }
}

/// The two 128-bit lanes of eight 16-bit sums added.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn fold_lanes(v: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1))
}

#[cfg(target_arch = "x86_64")]
fn scan_avx2_checked(codes: &BitCodes, query: &QueryTables, out: &mut [i32]) {
    // SAFETY: only chosen by `scan()` after detecting AVX2 on this CPU.
    unsafe { scan_avx2(codes, query, out) }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// splitmix64: deterministic values in -1..1, uncorrelated enough for vectors.
    pub(in crate::search) fn splitmix(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as f32 / u64::MAX as f32 * 2.0 - 1.0
        }
    }

    fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut random = splitmix(seed);
        (0..count).map(|_| random()).collect()
    }

    fn codes_of(vector: &[f32]) -> Vec<i8> {
        vector.iter().map(|v| (v * 63.0).round() as i8).collect()
    }

    #[test]
    fn the_fast_scan_agrees_with_the_portable_one() {
        // 70 rows: two full blocks and a partial one; dimension 1,030: groups padded, and more
        // pairs than one round of 16-bit sums.
        for dim in [10, 256, 1030] {
            let mut bits = BitCodes::new(dim);
            for row in 0..70 {
                bits.push(&codes_of(&values(dim, row)));
            }
            // Rewriting a row in place keeps its neighbours.
            bits.set(17, &codes_of(&values(dim, 1000)));
            let tables = QueryTables::new(&values(dim, 99));
            let (mut portable, mut fast) = (vec![0; 70], vec![0; 70]);
            scan_portable(&bits, &tables, &mut portable);
            (scan())(&bits, &tables, &mut fast);
            assert_eq!(portable, fast, "dim {dim}");
        }
    }

    #[test]
    fn the_scan_is_the_dot_product_with_the_signs() {
        let dim = 256;
        let query = values(dim, 7);
        let tables = QueryTables::new(&query);
        let step = 2.0
            * (0..dim / 4)
                .map(|g| query[4 * g..4 * g + 4].iter().map(|q| q.abs()).sum::<f32>())
                .fold(0f32, f32::max)
            / 255.0;
        let mut bits = BitCodes::new(dim);
        let rows: Vec<Vec<i8>> = (0..40).map(|r| codes_of(&values(dim, 500 + r))).collect();
        for row in &rows {
            bits.push(row);
        }
        let mut out = vec![0; rows.len()];
        scan_portable(&bits, &tables, &mut out);
        for (row, dot) in rows.iter().zip(out) {
            let exact: f32 = row
                .iter()
                .zip(&query)
                .map(|(c, q)| if *c > 0 { *q } else { -*q })
                .sum();
            // Each of 64 table entries and the offset round by half a step at most.
            assert!(
                (dot as f32 * step - exact).abs() <= 33.0 * step,
                "{dot} vs {exact}"
            );
        }
    }
}
