//! Huffman coding of one tensor's codes on a thread pool.
//!
//! The codes are cut into a few segments per thread, each a whole number of
//! chunks, and each segment is encoded on its own; the chunk tables are then
//! joined. Since every chunk is coded independently this gives the same bytes
//! as one sequential [`entro_huffman::encode`] call.

use anyhow::Context as _;
use entro_format::{EncodedTensor, choose_code_form};
use entro_huffman::{ChunkInfo, Codebook, DEFAULT_MAX_CODE_LENGTH};
use entro_quant::QuantReport;
use rayon::prelude::*;

/// Segments per thread: enough to balance uneven chunk costs, few enough that
/// each segment's buffer is large (and so goes straight back to the OS when freed).
const SEGMENTS_PER_THREAD: usize = 4;

/// Chooses how to store the codes of a tensor of `shape`, builds its codebook and encodes
/// `codes` in chunks of `chunk_codes`.
pub(crate) fn encode_tensor(
    name: &str,
    codes: &[u8],
    shape: &[usize],
    report: QuantReport,
    chunk_codes: usize,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<EncodedTensor> {
    let QuantReport { params, stats, .. } = report;
    let (form, codes) = choose_code_form(codes, shape, &params);
    let codebook = Codebook::build_best(&codes, params.bits, DEFAULT_MAX_CODE_LENGTH)
        .with_context(|| format!("tensor `{name}`: cannot build a Huffman codebook"))?;
    let chunks = codes.len().div_ceil(chunk_codes).max(1);
    let segments = pool
        .current_num_threads()
        .saturating_mul(SEGMENTS_PER_THREAD);
    let segment_codes = chunks.div_ceil(segments.max(1)).saturating_mul(chunk_codes);
    let encoded: Vec<(Vec<ChunkInfo>, Vec<u8>)> = pool
        .install(|| {
            codes
                .par_chunks(segment_codes.max(1))
                .map(|segment| {
                    let mut bytes = Vec::new();
                    let infos = entro_huffman::encode(segment, &codebook, chunk_codes, &mut bytes)?;
                    Ok((infos, bytes))
                })
                .collect::<Result<_, entro_huffman::EncodeError>>()
        })
        .with_context(|| format!("tensor `{name}`: Huffman coding failed"))?;

    let total: usize = encoded.iter().map(|(_, bytes)| bytes.len()).sum();
    let mut payload = Vec::with_capacity(total);
    let mut table = Vec::with_capacity(chunks);
    for (infos, bytes) in encoded {
        let base = payload.len() as u64;
        table.extend(infos.into_iter().map(|info| ChunkInfo {
            offset: info.offset + base,
            ..info
        }));
        payload.extend_from_slice(&bytes);
    }
    EncodedTensor::new(params, stats, codebook, chunk_codes, table, payload)
        .and_then(|encoded| encoded.with_code_form(form))
        .with_context(|| format!("tensor `{name}`: cannot assemble the encoded chunks"))
}

/// A pool of `threads` workers for the parallel encoders' tests.
#[cfg(test)]
pub(crate) fn test_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use entro_quant::{FloatSlice, Granularity, QuantConfig, quantize};

    #[test]
    fn parallel_segments_equal_one_sequential_encode() {
        // An odd count: the last chunk of a nibble-pair stream is odd too.
        let weights: Vec<f32> = (0..50_001u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 1000) as f32 / 500.0 - 1.0)
            .map(|w| w + if w > 0.9 { 2.0 } else { 0.0 })
            .collect();
        let per_row = QuantConfig {
            granularity: Granularity::Channel,
            ..QuantConfig::default()
        };
        let cases = [
            (QuantConfig::default(), vec![weights.len()]),
            (
                QuantConfig {
                    bits: 4,
                    ..QuantConfig::default()
                },
                vec![weights.len()],
            ),
            (per_row, vec![500, 100]),
        ];
        for (config, shape) in cases {
            let weights = &weights[..shape.iter().product::<usize>()];
            let mut codes = vec![0; weights.len()];
            let report =
                quantize("w", FloatSlice::F32(weights), &shape, &config, &mut codes).unwrap();
            let sequential = entro_format::encode_quantized(
                "w",
                &codes,
                &shape,
                report.params.clone(),
                report.stats,
                1024,
            )
            .unwrap();
            for threads in [1, 3] {
                let pool = test_pool(threads);
                let parallel =
                    encode_tensor("w", &codes, &shape, report.clone(), 1024, &pool).unwrap();
                assert_eq!(parallel, sequential, "{config:?} threads {threads}");
            }
        }
    }

    #[test]
    fn rows_with_different_zero_points_are_stored_relative_to_them() {
        // Rows with different offsets get different zero points.
        let weights: Vec<f32> = (0..64 * 200u32)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 100.0 + (i / 200 % 7) as f32 * 0.1)
            .collect();
        let config = QuantConfig {
            granularity: Granularity::Channel,
            ..QuantConfig::default()
        };
        let shape = [64, 200];
        let mut codes = vec![0; weights.len()];
        let report = quantize("w", FloatSlice::F32(&weights), &shape, &config, &mut codes).unwrap();
        let pool = test_pool(2);
        let encoded = encode_tensor("w", &codes, &shape, report, 1024, &pool).unwrap();
        assert_eq!(
            encoded.code_form(),
            entro_format::CodeForm::RelativeToZeroPoints
        );
    }
}
