//! One tensor written with two chunk sizes decodes to identical bits on one thread and on several,
//! for codes and every float output. The check lives in entro-decode's tests so that `cargo test`
//! replays the committed corpus on stable.
#![no_main]

#[path = "../../entro-decode/tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::decode_parallel_independent(data);
});
