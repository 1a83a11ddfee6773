//! Embedders turn texts into vectors for the vector leg.
//!
//! [`Embedder`] is asynchronous and batched, so that a remote embeddings endpoint
//! ([`super::remote::RemoteEmbedder`]) implements it too; vectors record the model that made
//! them. [`HashedNgrams`] is the built-in one: no
//! download, no network. It is the feature-hashing trick over words and character n-grams of
//! words (which match across inflections and compounds), signed to cancel collisions, with
//! sublinear term frequency, L2-normalized.

use std::future::Future;
use std::pin::Pin;

pub type EmbedFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Vec<f32>>, EmbedError>> + Send + 'a>>;

#[derive(Debug, Clone, thiserror::Error)]
#[error("embedding failed: {0}")]
pub struct EmbedError(pub String);

pub trait Embedder: Send + Sync {
    /// Identifies the model; stored with each vector so a change of model can be detected.
    fn model(&self) -> &str;
    /// Runs in-process and quickly, so indexing may wait for it (a remote one is left to the
    /// background vector filler instead).
    fn is_local(&self) -> bool {
        false
    }
    /// One vector of `dim()` values per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a>;
}

/// The built-in embedder: hashed word and character n-gram features.
pub struct HashedNgrams {
    dim: usize,
    model: String,
}

impl HashedNgrams {
    pub fn new(dim: usize) -> HashedNgrams {
        HashedNgrams {
            dim,
            model: format!("skein-hashed-ngrams-v1-{dim}"),
        }
    }

    /// The built-in embedder that made vectors of `model`, if one did: its vectors can serve
    /// queries while a new model's are built, since queries can still be embedded with it.
    pub fn for_model(model: &str) -> Option<HashedNgrams> {
        let dim: usize = model
            .strip_prefix("skein-hashed-ngrams-v1-")?
            .parse()
            .ok()?;
        (dim > 0).then(|| HashedNgrams::new(dim))
    }

    /// The vector of one text, computed in place.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        // Every occurrence of a feature, then sorted: equal features are counted together, and
        // added into the vector in one order in every process (a hash map's order differs
        // from process to process, and a float sum depends on its order). Half the time of
        // counting in a `HashMap` with a `String` per n-gram: 11 against 22 µs per Cranfield
        // query.
        let mut features: Vec<(u32, f32)> = Vec::new();
        let mut marked: Vec<char> = Vec::new();
        // An n-gram's UTF-8 bytes: at most five characters of four bytes.
        let mut gram = [0u8; 4 * 5];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_lowercase();
            if is_stop_word(&word) {
                continue;
            }
            // The whole word, and its character 3- to 5-grams with boundary marks.
            features.push((hash(b"w", word.as_bytes()), WORD_WEIGHT));
            marked.clear();
            marked.push('<');
            marked.extend(word.chars());
            marked.push('>');
            for n in 3..=5 {
                for window in marked.windows(n) {
                    let mut len = 0;
                    for c in window {
                        len += c.encode_utf8(&mut gram[len..]).len();
                    }
                    features.push((hash(b"g", &gram[..len]), 1.0));
                }
            }
        }
        features.sort_unstable_by_key(|(feature, _)| *feature);
        let mut vector = vec![0f32; self.dim];
        for same in features.chunk_by(|a, b| a.0 == b.0) {
            let feature = same[0].0;
            let count: f32 = same.iter().map(|(_, weight)| weight).sum();
            let bucket = (feature as usize >> 1) % self.dim;
            let sign = if feature & 1 == 0 { 1.0 } else { -1.0 };
            vector[bucket] += sign * (1.0 + count.ln());
        }
        normalize(&mut vector);
        vector
    }
}

/// Whole words count as much as this many n-grams.
const WORD_WEIGHT: f32 = 3.0;

impl Embedder for HashedNgrams {
    fn model(&self) -> &str {
        &self.model
    }

    fn is_local(&self) -> bool {
        true
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        let vectors = texts.iter().map(|text| self.vector(text)).collect();
        Box::pin(std::future::ready(Ok(vectors)))
    }
}

pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in vector.iter_mut() {
            *x /= norm;
        }
    }
}

/// FNV-1a over a namespace and the feature bytes: stable across platforms and Rust versions,
/// which stored vectors need (the standard library's hasher makes no such promise).
fn hash(namespace: &[u8], bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in namespace.iter().chain(bytes) {
        h ^= *b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn is_stop_word(word: &str) -> bool {
    const STOP: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
        "it", "its", "of", "on", "or", "that", "the", "their", "this", "to", "was", "were", "what",
        "which", "with", "how", "can", "been", "these", "those", "there",
    ];
    STOP.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED_HASH: u32 = 14163426;
    const PINNED_VECTOR: [i32; 16] = [
        221, 465, 0, 0, 0, 221, -221, 0, 0, 664, -221, 221, 221, 0, 0, -221,
    ];

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn related_texts_are_closer_than_unrelated_ones() {
        let embedder = HashedNgrams::new(256);
        let a = embedder.vector("total sales by month");
        let b = embedder.vector("monthly sales totals");
        let c = embedder.vector("boundary layer heat transfer");
        assert!(
            cosine(&a, &b) > cosine(&a, &c) + 0.2,
            "{} vs {}",
            cosine(&a, &b),
            cosine(&a, &c)
        );
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(embedder.vector("").iter().filter(|x| **x != 0.0).count(), 0);
    }

    #[test]
    fn the_built_in_model_is_recognized_by_its_id() {
        let embedder = HashedNgrams::new(64);
        let again = HashedNgrams::for_model(embedder.model()).unwrap();
        assert_eq!(
            again.vector("monthly sales"),
            embedder.vector("monthly sales")
        );
        assert!(HashedNgrams::for_model("text-embedding-3-small").is_none());
        assert!(HashedNgrams::for_model("skein-hashed-ngrams-v1-0").is_none());
    }

    #[test]
    fn a_text_gets_the_same_vector_to_the_bit_every_time() {
        // Summed in a hash map's order, about one Cranfield query in ten got vectors differing
        // in their last bits from one call to the next (a bucket's sum depends on its order).
        let queries = crate::search::eval::load(std::path::Path::new("tests/data/cranfield"))
            .unwrap()
            .queries;
        for dim in [32, 256] {
            let embedder = HashedNgrams::new(dim);
            for (_, query) in &queries {
                let first = embedder.vector(query);
                for _ in 0..3 {
                    assert_eq!(embedder.vector(query), first, "{query}");
                }
            }
        }
    }

    #[test]
    fn vectors_are_stable() {
        // Stored vectors must mean the same in every build: pin the hash and a vector.
        assert_eq!(hash(b"w", b"sales"), PINNED_HASH);
        let v = HashedNgrams::new(16).vector("Sales");
        let rounded: Vec<i32> = v.iter().map(|x| (x * 1000.0).round() as i32).collect();
        assert_eq!(rounded, PINNED_VECTOR);
    }
}
