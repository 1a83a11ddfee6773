//! The vector leg's exact scan: dot products over 8-bit codes (-63..=63), vectorized with AVX2
//! where the CPU has it. It scores the one-bit scan's shortlist (`bits`). Also the ranking's
//! marking of the rows that would enter its top k.

/// A scan: the dot products of a query's 8-bit codes with the listed rows of `codes` (row-major,
/// `dim` codes each), into `out` in the same order. Rows are read where they lie: a shortlist
/// is not copied together first.
pub type Scan = fn(codes: &[i8], rows: &[usize], query: &[i8], dim: usize, out: &mut [i32]);

/// The fastest 8-bit scan this CPU supports.
pub fn bytes() -> Scan {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return bytes_avx2_checked;
    }
    bytes_portable
}

pub fn bytes_portable(codes: &[i8], rows: &[usize], query: &[i8], dim: usize, out: &mut [i32]) {
    for (row, slot) in rows.iter().zip(out.iter_mut()) {
        *slot = codes[row * dim..(row + 1) * dim]
            .iter()
            .zip(query)
            .map(|(a, b)| *a as i32 * *b as i32)
            .sum();
    }
}

/// AVX2 8-bit scan: documents' codes are offset to unsigned (code + 64), multiplied with the
/// query's signed codes 32 at a time by `maddubs` (at most 127·63·2 per pair, so no
/// saturation), and the offset is taken back out with the query's code sum:
/// Σ q·(d+64) − 64·Σ q = Σ q·d.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bytes_avx2(codes: &[i8], rows: &[usize], query: &[i8], dim: usize, out: &mut [i32]) {
    use std::arch::x86_64::*;
    if !dim.is_multiple_of(32) {
        return bytes_portable(codes, rows, query, dim, out);
    }
    let offset = 64 * query.iter().map(|q| *q as i32).sum::<i32>();
    let bias = _mm256_set1_epi8(64);
    let ones = _mm256_set1_epi16(1);
    let lanes = dim / 32;
    let q: Vec<__m256i> = (0..lanes)
        .map(|l| _mm256_loadu_si256(query.as_ptr().add(l * 32) as *const __m256i))
        .collect();
    for (i, (row, slot)) in rows.iter().zip(out.iter_mut()).enumerate() {
        // A shortlist's rows lie far apart: ask for a later row's lines while this one is
        // summed, so that their trips to memory overlap. `wrapping_add`: a hint's address is
        // never undefined pointer arithmetic, even for a row the slicing below would refuse.
        if let Some(ahead) = rows.get(i + PREFETCH_ROWS) {
            let at = codes.as_ptr().wrapping_add(ahead * dim);
            for line in (0..dim).step_by(64) {
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(line));
            }
        }
        let row = &codes[row * dim..(row + 1) * dim];
        let mut acc = _mm256_setzero_si256();
        for (l, ql) in q.iter().enumerate() {
            let d = _mm256_loadu_si256(row.as_ptr().add(l * 32) as *const __m256i);
            let unsigned = _mm256_add_epi8(d, bias);
            let pairs = _mm256_maddubs_epi16(unsigned, *ql);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
        }
        *slot = sum_lanes(acc) - offset;
    }
}

/// How many rows ahead the 8-bit scan of a shortlist asks for a row's codes.
#[cfg(target_arch = "x86_64")]
const PREFETCH_ROWS: usize = 8;

/// Rows marked per call of a [`Mark`].
pub const MARK_ROWS: usize = 64;

/// A ranking's look at up to [`MARK_ROWS`] rows: bit `i` set when row `i` scores (dot ×
/// factor) at least `threshold` and belongs to the org numbered `org`.
pub type Mark = fn(dots: &[i32], factors: &[f32], orgs: &[u32], threshold: f32, org: u32) -> u64;

/// The fastest marking this CPU supports.
pub fn mark() -> Mark {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return mark_avx2_checked;
    }
    mark_portable
}

pub fn mark_portable(dots: &[i32], factors: &[f32], orgs: &[u32], threshold: f32, org: u32) -> u64 {
    let mut marked = 0u64;
    for (i, ((dot, factor), row_org)) in dots.iter().zip(factors).zip(orgs).enumerate() {
        let enters = (*dot as f32 * factor >= threshold) & (*row_org == org);
        marked |= u64::from(enters) << i;
    }
    marked
}

/// AVX2 marking, eight rows per compare and `movemask`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mark_avx2(dots: &[i32], factors: &[f32], orgs: &[u32], threshold: f32, org: u32) -> u64 {
    use std::arch::x86_64::*;
    let rows = dots.len().min(factors.len()).min(orgs.len()).min(MARK_ROWS);
    let thresholds = _mm256_set1_ps(threshold);
    let wanted = _mm256_set1_epi32(org as i32);
    let mut marked = 0u64;
    let mut i = 0;
    while i + 8 <= rows {
        let dot = _mm256_cvtepi32_ps(_mm256_loadu_si256(dots.as_ptr().add(i) as *const __m256i));
        let score = _mm256_mul_ps(dot, _mm256_loadu_ps(factors.as_ptr().add(i)));
        let enters = _mm256_cmp_ps(score, thresholds, _CMP_GE_OQ);
        let ours = _mm256_cmpeq_epi32(
            _mm256_loadu_si256(orgs.as_ptr().add(i) as *const __m256i),
            wanted,
        );
        let both = _mm256_and_ps(enters, _mm256_castsi256_ps(ours));
        marked |= (_mm256_movemask_ps(both) as u8 as u64) << i;
        i += 8;
    }
    if i < rows {
        let tail = (&dots[i..rows], &factors[i..rows], &orgs[i..rows]);
        marked |= mark_portable(tail.0, tail.1, tail.2, threshold, org) << i;
    }
    marked
}

#[cfg(target_arch = "x86_64")]
fn mark_avx2_checked(dots: &[i32], factors: &[f32], orgs: &[u32], threshold: f32, org: u32) -> u64 {
    // SAFETY: only chosen by `mark()` after detecting AVX2 on this CPU.
    unsafe { mark_avx2(dots, factors, orgs, threshold, org) }
}

/// The sum of a vector's eight 32-bit lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_lanes(acc: std::arch::x86_64::__m256i) -> i32 {
    use std::arch::x86_64::*;
    let half = _mm_add_epi32(
        _mm256_castsi256_si128(acc),
        _mm256_extracti128_si256(acc, 1),
    );
    let quarter = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0b01_00_11_10));
    let single = _mm_add_epi32(quarter, _mm_shuffle_epi32(quarter, 0b10_11_00_01));
    _mm_cvtsi128_si32(single)
}

#[cfg(target_arch = "x86_64")]
fn bytes_avx2_checked(codes: &[i8], rows: &[usize], query: &[i8], dim: usize, out: &mut [i32]) {
    // SAFETY: only chosen by `bytes()` after detecting AVX2 on this CPU.
    unsafe { bytes_avx2(codes, rows, query, dim, out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes spanning the whole quantized range, -63..=63.
    fn codes(rows: usize, dim: usize) -> Vec<i8> {
        (0..rows * dim)
            .map(|i| ((i * 7919) % 127) as i8 - 63)
            .collect()
    }

    #[test]
    fn the_fast_scan_agrees_with_the_portable_one() {
        let (rows, dim) = (300, 512);
        let codes = codes(rows, dim);
        let query: Vec<i8> = (0..dim).map(|i| ((i * 31) % 127) as i8 - 63).collect();
        // Every row, and a few out of order.
        for listed in [(0..rows).collect(), vec![299, 3, 150, 3]] {
            let (mut portable, mut fast) = (vec![0i32; rows], vec![0i32; rows]);
            bytes_portable(&codes, &listed, &query, dim, &mut portable);
            (bytes())(&codes, &listed, &query, dim, &mut fast);
            assert_eq!(portable, fast);
        }
    }

    #[test]
    fn the_fast_marking_agrees_with_the_portable_one() {
        let dots: Vec<i32> = (0..64).map(|i| (i * 37 % 23) - 11).collect();
        let factors: Vec<f32> = (0..64).map(|i| 0.5 + (i % 5) as f32 * 0.25).collect();
        let orgs: Vec<u32> = (0..64).map(|i| (i % 3 == 0) as u32).collect();
        for rows in [64, 61, 7] {
            for threshold in [f32::NEG_INFINITY, -3.0, 0.0, 2.5, 100.0] {
                let args = (&dots[..rows], &factors[..rows], &orgs[..rows]);
                let portable = mark_portable(args.0, args.1, args.2, threshold, 1);
                assert_eq!((mark())(args.0, args.1, args.2, threshold, 1), portable);
                let expected = (0..rows)
                    .filter(|i| orgs[*i] == 1 && dots[*i] as f32 * factors[*i] >= threshold)
                    .fold(0u64, |m, i| m | 1 << i);
                assert_eq!(portable, expected);
            }
        }
    }
}
