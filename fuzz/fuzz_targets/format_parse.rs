//! Arbitrary bytes as a `.entro` file: full validation, then every checksum and
//! every chunk decoded; `Ok` or `Err`, never a panic, hang or huge allocation.
//! The check lives in entro-format's tests so that `cargo test` replays the
//! committed corpus on stable.
#![no_main]

#[path = "../../entro-format/tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::format_parse(data);
});
