//! Arbitrary codebook bytes and bitstream into the decoder: `Ok` or `Err`, never a panic or hang,
//! and output bounded by a 16-bit code count. The check lives in entro-huffman's tests so that
//! `cargo test` replays the committed corpus on stable.
#![no_main]

#[path = "../../entro-huffman/tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::huffman_decode(data);
});
