//! Arbitrary floats, bit width, scheme and granularity: the half-step bound holds, or the error is
//! exactly the one the input calls for (non-finite weights name the tensor and index). The check
//! lives in entro-quant's tests so that `cargo test` replays the committed corpus on stable.
#![no_main]

#[path = "../../entro-quant/tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::quant_roundtrip(data);
});
