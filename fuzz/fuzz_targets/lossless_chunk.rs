//! The lossless float codec on its own: arbitrary bytes as a chunk (`Ok` or `Err`, never a panic,
//! hang or huge allocation), and arbitrary elements through a bit-exact round trip. The check
//! lives in entro-format's tests so that `cargo test` replays the committed corpus on stable.
#![no_main]

#[path = "../../entro-format/tests/fuzz_lossless/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::lossless_chunk(data);
});
