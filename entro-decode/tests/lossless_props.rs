//! Property: decoding a losslessly coded tensor gives back its bits for its own type, and its
//! values widened or rounded to nearest for the others, whatever the chunk size and thread count.

mod lossless_support;

use entro_decode::{DecodeOptions, Decoder, FloatDtype, Target};
use entro_format::Dtype;
use lossless_support::{LosslessSpec, expected_bytes, float_bytes, float_of, lossless_file};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decode_of_encode_is_bit_exact(
        dtype in prop::sample::select(vec![Dtype::F32, Dtype::F16, Dtype::BF16]),
        rows in 0usize..40,
        columns in 1usize..60,
        chunk in 1usize..700,
        threads in 1usize..=4,
        special_rate in prop::sample::select(vec![0u64, 2, 11]),
        seed in any::<u64>(),
        target in prop::sample::select(vec![
            Target::Original,
            Target::F32,
            Target::F16,
            Target::BF16,
            Target::Bytes(FloatDtype::F32),
            Target::Bytes(FloatDtype::F16),
            Target::Bytes(FloatDtype::BF16),
        ]),
    ) {
        let spec = LosslessSpec {
            name: "t".to_owned(),
            shape: vec![rows, columns],
            dtype,
            bytes: float_bytes(dtype, seed, rows * columns, special_rate),
            chunk,
        };
        let file = lossless_file(std::slice::from_ref(&spec));
        let decoder = Decoder::new(DecodeOptions { threads, verify_checksums: true }).unwrap();
        let decoded = decoder.decode_model(&file, target).unwrap();
        let float = float_of(decoded[0].data.kind()).unwrap();
        let expected = expected_bytes(dtype, &spec.bytes, float);
        prop_assert!(decoded[0].data.to_le_bytes() == expected);
        prop_assert!(decoder.verify(&file).is_ok());
    }
}
