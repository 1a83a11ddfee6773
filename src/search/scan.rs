//! The vector leg's dot-product scans, each vectorized with AVX2 where the CPU has it:
//!
//! - over 8-bit codes (-63..=63), exact for the quantized vectors;
//! - over 4-bit codes (-7..=7, two to a byte), half the memory to stream through, which is what
//!   a scan of many rows waits on. Its ranking is close to the 8-bit one, so the index uses it
//!   to shortlist and the 8-bit scan to score the shortlist exactly.
//!
//! 4-bit rows are packed per block of 64 dimensions: byte `i` of block `b` holds dimension
//! `64b + i` in its low half and `64b + 32 + i` in its high half (each stored as code + 8), so
//! that one 32-byte load unpacks into two runs of 32 consecutive dimensions.

/// A scan: dot products of a query's 8-bit codes with each row, into `out`.
pub type Scan<T> = fn(&[T], &[i8], usize, &mut [i32]);

/// Dimensions per packed 4-bit block.
pub const NIBBLE_BLOCK: usize = 64;

/// The 4-bit code of an 8-bit one (-63..=63 → -7..=7).
fn nibble(code: i8) -> u8 {
    let four = (code as f32 / 9.0).round().clamp(-7.0, 7.0) as i8;
    (four + 8) as u8
}

/// One row's 8-bit codes packed to 4 bits (`codes.len()` a multiple of [`NIBBLE_BLOCK`]).
pub fn pack_nibbles(codes: &[i8], into: &mut Vec<u8>) {
    for block in codes.chunks_exact(NIBBLE_BLOCK) {
        let (low, high) = block.split_at(NIBBLE_BLOCK / 2);
        into.extend(
            low.iter()
                .zip(high)
                .map(|(l, h)| nibble(*l) | nibble(*h) << 4),
        );
    }
}

/// The fastest 8-bit scan this CPU supports.
pub fn bytes() -> Scan<i8> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return bytes_avx2_checked;
    }
    bytes_portable
}

/// The fastest 4-bit scan this CPU supports.
pub fn nibbles() -> Scan<u8> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return nibbles_avx2_checked;
    }
    nibbles_portable
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

pub fn nibbles_portable(packed: &[u8], query: &[i8], dim: usize, out: &mut [i32]) {
    for (row, slot) in packed.chunks_exact(dim / 2).zip(out.iter_mut()) {
        let mut sum = 0i32;
        for (block, q) in row
            .chunks_exact(NIBBLE_BLOCK / 2)
            .zip(query.chunks_exact(NIBBLE_BLOCK))
        {
            let (q_low, q_high) = q.split_at(NIBBLE_BLOCK / 2);
            for ((byte, l), h) in block.iter().zip(q_low).zip(q_high) {
                sum += ((byte & 0x0F) as i32 - 8) * *l as i32;
                sum += ((byte >> 4) as i32 - 8) * *h as i32;
            }
        }
        *slot = sum;
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

/// AVX2 4-bit scan: each 32-byte load unpacks (mask, shift) into two runs of 32 unsigned codes
/// (code + 8, at most 15), multiplied with the query's signed codes by `maddubs` (at most
/// 15·63·2 = 1,890 per pair). Eight such products add up in 16 bits (15,120, no overflow)
/// before widening; the offset comes out as in the 8-bit scan: Σ q·(d+8) − 8·Σ q. Rows go
/// eight at a time, so that one horizontal reduction sums eight rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn nibbles_avx2(packed: &[u8], query: &[i8], dim: usize, out: &mut [i32]) {
    use std::arch::x86_64::*;
    let offset = 8 * query.iter().map(|q| *q as i32).sum::<i32>();
    let q: Vec<__m256i> = (0..dim / 32)
        .map(|l| _mm256_loadu_si256(query.as_ptr().add(l * 32) as *const __m256i))
        .collect();
    let row_bytes = dim / 2;
    let rows = out.len().min(packed.len() / row_bytes);
    let offsets = _mm256_set1_epi32(offset);
    let mut row = 0;
    while row + 8 <= rows {
        let mut sums = [_mm256_setzero_si256(); 8];
        for (r, sum) in sums.iter_mut().enumerate() {
            *sum = nibble_row(packed.as_ptr().add((row + r) * row_bytes), &q);
        }
        let dots = _mm256_sub_epi32(sum_each(&sums), offsets);
        _mm256_storeu_si256(out.as_mut_ptr().add(row) as *mut __m256i, dots);
        row += 8;
    }
    for (r, slot) in out.iter_mut().enumerate().take(rows).skip(row) {
        *slot = sum_lanes(nibble_row(packed.as_ptr().add(r * row_bytes), &q)) - offset;
    }
}

/// One packed row's products with the query, in eight 32-bit lanes to be summed.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn nibble_row(
    row: *const u8,
    q: &[std::arch::x86_64::__m256i],
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let mask = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_si256();
    // Four blocks (eight products per 16-bit lane) at most before widening.
    for (g, group) in q.chunks(8).enumerate() {
        let mut short = _mm256_setzero_si256();
        for (b, pair) in group.chunks_exact(2).enumerate() {
            let block = g * 4 + b;
            let bytes = _mm256_loadu_si256(row.add(block * 32) as *const __m256i);
            let low = _mm256_and_si256(bytes, mask);
            let high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
            short = _mm256_add_epi16(short, _mm256_maddubs_epi16(low, pair[0]));
            short = _mm256_add_epi16(short, _mm256_maddubs_epi16(high, pair[1]));
        }
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(short, ones));
    }
    acc
}

/// The lane sums of eight vectors, in order, as one vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn sum_each(v: &[std::arch::x86_64::__m256i; 8]) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    // Two rounds of pairwise adds leave, in each 128-bit half, one partial sum per vector of
    // four; the halves then add up.
    let s01 = _mm256_hadd_epi32(v[0], v[1]);
    let s23 = _mm256_hadd_epi32(v[2], v[3]);
    let s45 = _mm256_hadd_epi32(v[4], v[5]);
    let s67 = _mm256_hadd_epi32(v[6], v[7]);
    let s0123 = _mm256_hadd_epi32(s01, s23);
    let s4567 = _mm256_hadd_epi32(s45, s67);
    _mm256_add_epi32(
        _mm256_permute2x128_si256(s0123, s4567, 0x20),
        _mm256_permute2x128_si256(s0123, s4567, 0x31),
    )
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

#[cfg(target_arch = "x86_64")]
fn nibbles_avx2_checked(packed: &[u8], query: &[i8], dim: usize, out: &mut [i32]) {
    // SAFETY: only chosen by `nibbles()` after detecting AVX2 on this CPU.
    unsafe { nibbles_avx2(packed, query, dim, out) }
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
    fn the_fast_scans_agree_with_the_portable_ones() {
        let (rows, dim) = (300, 512);
        let codes = codes(rows, dim);
        let query: Vec<i8> = (0..dim).map(|i| ((i * 31) % 127) as i8 - 63).collect();
        let (mut portable, mut fast) = (vec![0i32; rows], vec![0i32; rows]);
        bytes_portable(&codes, &query, dim, &mut portable);
        (bytes())(&codes, &query, dim, &mut fast);
        assert_eq!(portable, fast);

        let mut packed = Vec::new();
        for row in codes.chunks_exact(dim) {
            pack_nibbles(row, &mut packed);
        }
        assert_eq!(packed.len(), rows * dim / 2);
        let (mut portable, mut fast) = (vec![0i32; rows], vec![0i32; rows]);
        nibbles_portable(&packed, &query, dim, &mut portable);
        (nibbles())(&packed, &query, dim, &mut fast);
        assert_eq!(portable, fast);
    }

    #[test]
    fn a_four_bit_dot_product_is_the_eight_bit_one_at_a_ninth() {
        let dim = 128;
        let codes = codes(1, dim);
        let query: Vec<i8> = (0..dim).map(|i| ((i * 13) % 127) as i8 - 63).collect();
        let mut exact = [0i32];
        bytes_portable(&codes, &query, dim, &mut exact);
        let mut packed = Vec::new();
        pack_nibbles(&codes, &mut packed);
        let mut four = [0i32];
        nibbles_portable(&packed, &query, dim, &mut four);
        // Each code is off by at most 4.5 (half a step of 9), so by 4.5·Σ|q| in all.
        let bound = 4.5 * query.iter().map(|q| (*q as f64).abs()).sum::<f64>();
        assert!((four[0] as f64 * 9.0 - exact[0] as f64).abs() <= bound);
    }
}
