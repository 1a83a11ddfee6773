//! The vector leg's exact scan: dot products over 8-bit codes (-63..=63), vectorized with AVX2
//! where the CPU has it. It scores the one-bit scan's shortlist (`bits`).

/// A scan: dot products of a query's 8-bit codes with each row, into `out`.
pub type Scan<T> = fn(&[T], &[i8], usize, &mut [i32]);

/// The fastest 8-bit scan this CPU supports.
pub fn bytes() -> Scan<i8> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return bytes_avx2_checked;
    }
    bytes_portable
}

pub fn bytes_portable(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    for (row, slot) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        *slot = row
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
unsafe fn bytes_avx2(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    use std::arch::x86_64::*;
    if !dim.is_multiple_of(32) {
        return bytes_portable(codes, query, dim, out);
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
        *slot = sum_lanes(acc) - offset;
    }
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
fn bytes_avx2_checked(codes: &[i8], query: &[i8], dim: usize, out: &mut [i32]) {
    // SAFETY: only chosen by `bytes()` after detecting AVX2 on this CPU.
    unsafe { bytes_avx2(codes, query, dim, out) }
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
        let (mut portable, mut fast) = (vec![0i32; rows], vec![0i32; rows]);
        bytes_portable(&codes, &query, dim, &mut portable);
        (bytes())(&codes, &query, dim, &mut fast);
        assert_eq!(portable, fast);
    }
}
