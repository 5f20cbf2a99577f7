//! Arbitrary symbols, alphabet, length limit and chunk size: `decode(encode(x)) == x`, and every
//! builder or encoder error is the one the parameters call for. The check lives in entro-huffman's
//! tests so that `cargo test` replays the committed corpus on stable.
#![no_main]

#[path = "../../entro-huffman/tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::huffman_roundtrip(data);
});
