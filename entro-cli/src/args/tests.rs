//! Flag parsing and validation.

use super::*;
use crate::cli::Cli;
use clap::Parser;

fn compress(extra: &[&str]) -> Result<CompressArgs, UsageError> {
    let mut argv = vec!["entro", "compress", "in.safetensors", "-o", "out.entro"];
    argv.extend_from_slice(extra);
    let cli = Cli::try_parse_from(argv).expect("flags parse");
    match cli.command {
        crate::cli::Command::Compress(flags) => CompressArgs::new(flags),
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn defaults_are_the_papers_method() {
    let args = compress(&[]).unwrap();
    assert_eq!(args.config, QuantConfig::default());
    assert_eq!(args.chunk_codes, DEFAULT_CHUNK_CODES);
    assert!(args.threads >= 1);
    assert!(!args.force);
}

#[test]
fn granularity_scheme_and_keep_are_parsed() {
    let args = compress(&[
        "--bits",
        "4",
        "--granularity",
        "group:32",
        "--scheme",
        "symmetric",
        "--keep",
        "*.embed_tokens.*",
        "--keep",
        "lm_head.weight",
    ])
    .unwrap();
    assert_eq!(args.config.bits, 4);
    assert_eq!(args.config.granularity, Granularity::Group(32));
    assert_eq!(args.config.scheme, Scheme::Symmetric);
    assert_eq!(args.keep.matches("model.embed_tokens.weight"), vec![0]);
    assert_eq!(args.keep.matches("lm_head.weight"), vec![1]);
    assert!(args.keep.matches("model.norm.weight").is_empty());
}

#[test]
fn bad_values_are_usage_errors() {
    for extra in [
        &["--bits", "9"][..],
        &["--bits", "1"],
        &["--granularity", "group:0"],
        &["--granularity", "rows"],
        &["--threads", "0"],
        &["--keep", "a[b"],
        &["--chunk-codes", "3"],
        &["--chunk-codes", "0"],
        &["--lossless", "--chunk-elements", "0"],
    ] {
        let err = compress(extra).unwrap_err();
        assert!(!err.0.is_empty(), "{extra:?}");
    }
}

#[test]
fn lossless_excludes_the_quantization_flags() {
    let args = compress(&["--lossless", "--keep", "*.norm.*"]).unwrap();
    let chunks = args.lossless.unwrap();
    assert_eq!(chunks, LosslessChunks::Default);
    assert_eq!(chunks.elements(4), 1 << 18);
    assert_eq!(chunks.elements(2), 1 << 19);
    assert!(chunks.elements(1) <= lossless::DEFAULT_CHUNK_ELEMENTS);
    let args = compress(&["--lossless", "--chunk-elements", "4096"]).unwrap();
    assert_eq!(args.lossless, Some(LosslessChunks::Elements(4096)));
    assert_eq!(LosslessChunks::Elements(4096).elements(4), 4096);
    assert_eq!(compress(&[]).unwrap().lossless, None);
    assert!(!args.lossless_smallest);
    assert!(
        compress(&["--lossless", "--smallest"])
            .unwrap()
            .lossless_smallest
    );
    // --smallest only means something for lossless tensors.
    let err =
        Cli::try_parse_from(["entro", "compress", "in", "-o", "out", "--smallest"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    let extras: [&[&str]; 6] = [
        &["--bits", "4"],
        &["--scheme", "symmetric"],
        &["--granularity", "channel"],
        &["--clip"],
        &["--chunk-codes", "1024"],
        &["--bits", "8"],
    ];
    for extra in extras {
        let mut argv = vec!["entro", "compress", "in", "-o", "out", "--lossless"];
        argv.extend_from_slice(extra);
        let err = Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::ArgumentConflict,
            "{extra:?}"
        );
        assert_eq!(err.exit_code(), 2);
    }
    let argv = [
        "entro",
        "compress",
        "in",
        "-o",
        "out",
        "--chunk-elements",
        "64",
    ];
    let err = Cli::try_parse_from(argv).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
}
