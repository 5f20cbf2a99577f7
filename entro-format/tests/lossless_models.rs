//! The lossless codec on the real checkpoints (skipped with a printed reason when absent): every
//! tensor round-trips bit for bit, and the sizes stay within the targets where they are
//! met. The synthetic tests in `lossless_roundtrip.rs` cover the same code without the models.

#[path = "../benches/support/models.rs"]
mod models;

use entro_format::lossless::{
    DEFAULT_CHUNK_ELEMENTS, EncodeOptions, decode_chunk, encode_chunk_with,
};

/// Chunk bytes of every float tensor, after checking the round trip; and the weight count.
fn encode_model(model: &models::Model, options: &EncodeOptions) -> (usize, usize) {
    let (mut coded, mut weights) = (0, 0);
    let (mut chunk, mut decoded) = (Vec::new(), Vec::new());
    for (name, layout, bytes) in model.float_tensors() {
        weights += bytes.len() / layout.element_bytes();
        for piece in bytes.chunks(DEFAULT_CHUNK_ELEMENTS * layout.element_bytes()) {
            chunk.clear();
            encode_chunk_with(layout, piece, options, &mut chunk).expect("encodes");
            decoded.resize(piece.len(), 0);
            decode_chunk(layout, &chunk, &mut decoded).expect("decodes");
            assert!(
                decoded == piece,
                "{}: `{name}` differs after decoding",
                model.name
            );
            coded += chunk.len();
        }
    }
    (coded, weights)
}

#[test]
fn real_checkpoints_round_trip_within_their_targets() {
    for model in models::available() {
        let (coded, weights) = encode_model(&model, &EncodeOptions::default());
        // The container adds well under 0.01 bits per weight (see the lossless_ratio example).
        let bits = coded as f64 * 8.0 / weights as f64;
        println!("{}: {bits:.3} bits per weight", model.name);
        match model.name {
            // Issue 8's target; met thanks to the grid blocks of this dequantized checkpoint.
            "SmolLM2-135M-Instruct" => assert!(bits <= 10.4, "{bits}"),
            // The target is 26.0, not met: this guards the 26.13 reached (26.11 before byte
            // codes were limited to 12 bits for the vector decoder) against regressions.
            _ => assert!(bits <= 26.15, "{bits}"),
        }
    }
}
