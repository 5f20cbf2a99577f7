//! Lossless coding of one tensor on a thread pool.
//!
//! The elements are cut into a few segments per thread, each a whole number of chunks, and each
//! segment is coded on its own; the pieces are then joined. Since every chunk is coded
//! independently this gives the same bytes as one sequential [`entro_format::encode_lossless`].

use anyhow::Context as _;
use entro_format::lossless::EncodeOptions;
use entro_format::{Dtype, EncodedLossless, encode_lossless_with};
use rayon::prelude::*;

/// Segments per thread: enough to balance uneven chunk costs, few enough that each segment's
/// buffer is large.
const SEGMENTS_PER_THREAD: usize = 4;

/// Codes the little-endian elements `bytes` of a `dtype` (F32, F16 or BF16) tensor in chunks of
/// `chunk_elements` with `options`, the chunks spread over `pool`.
pub(crate) fn encode_lossless_tensor(
    name: &str,
    dtype: Dtype,
    bytes: &[u8],
    chunk_elements: usize,
    options: &EncodeOptions,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<EncodedLossless> {
    let element_bytes = dtype
        .float_layout()
        .with_context(|| format!("tensor `{name}` has dtype {dtype}, not F32, F16 or BF16"))?
        .element_bytes();
    let chunk_bytes = chunk_elements.max(1).saturating_mul(element_bytes);
    let chunks = bytes.len().div_ceil(chunk_bytes).max(1);
    let segments = pool
        .current_num_threads()
        .saturating_mul(SEGMENTS_PER_THREAD);
    let segment_bytes = chunks.div_ceil(segments.max(1)).saturating_mul(chunk_bytes);
    let pieces: Vec<EncodedLossless> = pool
        .install(|| {
            bytes
                .par_chunks(segment_bytes.max(1))
                .map(|segment| encode_lossless_with(name, dtype, segment, chunk_elements, options))
                .collect::<Result<_, _>>()
        })
        .with_context(|| format!("tensor `{name}`: lossless coding failed"))?;
    if pieces.is_empty() {
        // No elements: one empty coding carries the layout and chunk size.
        return encode_lossless_with(name, dtype, bytes, chunk_elements, options)
            .with_context(|| format!("tensor `{name}`: lossless coding failed"));
    }
    EncodedLossless::concat(pieces)
        .with_context(|| format!("tensor `{name}`: cannot join the coded chunks"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_pool;

    #[test]
    fn parallel_segments_equal_one_sequential_encode() {
        let bytes: Vec<u8> = (0..30_001u32)
            .flat_map(|i| {
                let value = ((i.wrapping_mul(2_654_435_761) >> 7) % 1000) as f32 / 5e4 - 0.01;
                half::bf16::from_f32(value).to_le_bytes()
            })
            .collect();
        for options in [
            EncodeOptions::default(),
            EncodeOptions::default().with_smallest_planes(true),
        ] {
            let sequential =
                encode_lossless_with("w", Dtype::BF16, &bytes, 1024, &options).unwrap();
            for threads in [1, 3] {
                let pool = test_pool(threads);
                let parallel =
                    encode_lossless_tensor("w", Dtype::BF16, &bytes, 1024, &options, &pool)
                        .unwrap();
                assert_eq!(parallel, sequential, "threads {threads}, {options:?}");
            }
        }
        let options = EncodeOptions::default();
        let pool = test_pool(2);
        let empty = encode_lossless_tensor("w", Dtype::F32, &[], 1024, &options, &pool).unwrap();
        assert_eq!(empty.elements(), 0);
        assert!(encode_lossless_tensor("w", Dtype::I32, &bytes, 1024, &options, &pool).is_err());
    }
}
