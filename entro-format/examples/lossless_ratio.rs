//! Size of the lossless codec on real checkpoints: bits per weight for the whole `.entro` file,
//! with and without grid blocks, per part of the chunks, against zstd -3 and -19 on the same raw
//! tensor bytes.
//!
//! ```text
//! cargo run --release -p entro-format --example lossless_ratio [-- --no-zstd19]
//! ```
//!
//! Models: see `benches/support/models.rs` (SmolLM2-135M from `../shared`, all-MiniLM-L6-v2 from
//! `ENTRO_MINILM` or the target folder); absent ones are skipped with the reason.

#[path = "../benches/support/models.rs"]
mod models;

use std::time::Instant;

use entro_format::lossless::{
    ChunkStats, DEFAULT_CHUNK_ELEMENTS, EncodeOptions, decode_chunk, encode_chunk_with,
};
use entro_format::{EntroWriter, FileMetadata};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let zstd19 = !std::env::args().any(|arg| arg == "--no-zstd19");
    for model in models::available() {
        let tensors = model.float_tensors();
        let weights: usize = tensors
            .iter()
            .map(|(_, layout, bytes)| bytes.len() / layout.element_bytes())
            .sum();
        let raw_bytes: usize = tensors
            .iter()
            .map(|(_, _, bytes)| bytes.len())
            .sum::<usize>()
            + model.other_bytes();
        println!(
            "\n{}: {weights} weights in {} float tensors, {raw_bytes} raw tensor bytes",
            model.name,
            tensors.len()
        );
        let overhead = container_overhead(&model)?;
        println!(
            "  container overhead of the .entro file (records, chunk tables, padding, raw tensors): {overhead} bytes"
        );
        for grid in [true, false] {
            let options = EncodeOptions::default().with_grid_blocks(grid);
            let started = Instant::now();
            let (stats, chunks) = encode_all(&tensors, &options)?;
            let seconds = started.elapsed().as_secs_f64();
            let file = stats.total_bytes() + overhead;
            let bits = |bytes: usize| bytes as f64 * 8.0 / weights as f64;
            println!(
                "  entro lossless, grid blocks {}: {file} bytes, {:.3} bits/weight ({} chunks; \
                 encoded in {seconds:.1} s on one thread; {:.1} % of weights on grids; chunks per \
                 k, the mantissa bits joined to the exponent: {:?})",
                if grid { "on " } else { "off" },
                bits(file),
                chunks.len(),
                100.0 * stats.grid_elements as f64 / weights as f64,
                k_histogram(&chunks),
            );
            println!(
                "    bits/weight per part: header {:.4}, block kinds {:.4}, block params {:.4}, \
                 grid indices {:.4}, exponent plane {:.4}, escapes and packed sign and mantissa \
                 bits {:.4}, F32 low halves {:.4}, container {:.4}",
                bits(stats.header_bytes),
                bits(stats.block_kind_bytes),
                bits(stats.block_param_bytes),
                bits(stats.block_index_bytes),
                bits(stats.top_bytes[0]),
                bits(stats.top_bytes[1]),
                bits(stats.low_bytes),
                bits(overhead),
            );
        }
        let mut raw = Vec::with_capacity(raw_bytes);
        for (_, _, bytes) in &tensors {
            raw.extend_from_slice(bytes);
        }
        for level in if zstd19 { vec![3, 19] } else { vec![3] } {
            let started = Instant::now();
            let compressed = zstd::bulk::compress(&raw, level)?;
            println!(
                "  zstd -{level}: {} bytes, {:.3} bits/weight (compressed in {:.1} s)",
                compressed.len(),
                compressed.len() as f64 * 8.0 / weights as f64,
                started.elapsed().as_secs_f64()
            );
        }
        verify_round_trip(&tensors)?;
    }
    Ok(())
}

/// Encodes every tensor in chunks of the default size; returns the summed stats and each chunk's.
fn encode_all(
    tensors: &[(&str, entro_format::lossless::FloatLayout, &[u8])],
    options: &EncodeOptions,
) -> Result<(ChunkStats, Vec<ChunkStats>), Box<dyn std::error::Error>> {
    let mut total = ChunkStats::default();
    let mut chunks = Vec::new();
    let mut out = Vec::new();
    for (_, layout, bytes) in tensors {
        for piece in bytes.chunks(DEFAULT_CHUNK_ELEMENTS * layout.element_bytes()) {
            out.clear();
            let stats = encode_chunk_with(*layout, piece, options, &mut out)?;
            total.elements += stats.elements;
            total.grid_elements += stats.grid_elements;
            total.header_bytes += stats.header_bytes;
            total.block_kind_bytes += stats.block_kind_bytes;
            total.block_param_bytes += stats.block_param_bytes;
            total.block_index_bytes += stats.block_index_bytes;
            total.top_bytes[0] += stats.top_bytes[0];
            total.top_bytes[1] += stats.top_bytes[1];
            total.low_bytes += stats.low_bytes;
            chunks.push(stats);
        }
    }
    Ok((total, chunks))
}

/// How many chunks chose each k (mantissa bits joined to the exponent plane).
fn k_histogram(chunks: &[ChunkStats]) -> Vec<(u8, usize)> {
    let mut counts = [0usize; 8];
    for k in chunks.iter().filter_map(|chunk| chunk.joined_mantissa_bits) {
        counts[usize::from(k)] += 1;
    }
    (0u8..)
        .zip(counts)
        .filter(|&(_, count)| count > 0)
        .collect()
}

/// Writes the real `.entro` file (default options) and returns its size minus the chunk bytes:
/// everything the container adds, plus the tensors kept raw.
fn container_overhead(model: &models::Model) -> Result<usize, Box<dyn std::error::Error>> {
    let folder = tempfile::tempdir()?;
    let path = folder.path().join("model.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default())?;
    let mut chunk_bytes = 0usize;
    for tensor in model.checkpoint.tensors() {
        let bytes = model.checkpoint.data(tensor)?;
        match tensor.dtype().float_layout().filter(|_| !bytes.is_empty()) {
            Some(_) => {
                let encoded = entro_format::encode_lossless(
                    tensor.name(),
                    tensor.dtype(),
                    bytes,
                    DEFAULT_CHUNK_ELEMENTS,
                )?;
                chunk_bytes += encoded.payload().len();
                writer.add_lossless_encoded(
                    tensor.name(),
                    tensor.shape(),
                    tensor.dtype(),
                    &encoded,
                )?;
            }
            None => writer.add_raw(tensor.name(), tensor.shape(), tensor.dtype(), bytes)?,
        }
    }
    writer.finish()?;
    let file = usize::try_from(std::fs::metadata(&path)?.len())?;
    Ok(file - chunk_bytes)
}

/// Decodes every chunk of every tensor and compares with the source, on one thread.
fn verify_round_trip(
    tensors: &[(&str, entro_format::lossless::FloatLayout, &[u8])],
) -> Result<(), Box<dyn std::error::Error>> {
    let (mut chunk, mut decoded) = (Vec::new(), Vec::new());
    let (mut seconds, mut bytes_out) = (0.0, 0usize);
    for (name, layout, bytes) in tensors {
        for piece in bytes.chunks(DEFAULT_CHUNK_ELEMENTS * layout.element_bytes()) {
            chunk.clear();
            encode_chunk_with(*layout, piece, &EncodeOptions::default(), &mut chunk)?;
            decoded.resize(piece.len(), 0);
            let started = Instant::now();
            decode_chunk(*layout, &chunk, &mut decoded)?;
            seconds += started.elapsed().as_secs_f64();
            bytes_out += piece.len();
            if decoded != piece {
                return Err(format!("{name}: decoded bytes differ").into());
            }
        }
    }
    println!(
        "  round trip bit-exact; one-thread decode {:.0} MB/s of raw output (indicative only, see \
         the lossless bench)",
        bytes_out as f64 / seconds / 1e6
    );
    Ok(())
}
