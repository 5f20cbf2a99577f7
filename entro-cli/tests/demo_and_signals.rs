//! The embedded demo, the synthetic checkpoint generator, help text, and a
//! clean stop on Ctrl-C.

mod support;

use support::{files_in, path_str, run, stderr, stdout, tmp_path};

#[test]
fn demo_runs_end_to_end_on_a_small_model() {
    let dir = tempfile::tempdir().unwrap();
    let work = tmp_path(&dir, "work");
    let result = run(&[
        "demo",
        "--params",
        "3000000",
        "--threads",
        "2",
        "--workdir",
        path_str(&work),
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    let text = stdout(&result);
    for needle in [
        "8-bit per tensor (paper)",
        "4-bit per tensor (paper)",
        "4-bit group:32",
        "vs fp16",
        "vs uint8",
        "vs uint4",
        "decode 1 thread",
        "decode 2 threads",
        "max |error|",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{text}");
    }
    // The compressed files stay in the work folder; the decompressed copies do not.
    let files = files_in(&work);
    for name in [
        "model.safetensors",
        "model-8bit.entro",
        "model-4bit.entro",
        "model-4bit-g32.entro",
    ] {
        assert!(
            files.iter().any(|f| f == name),
            "{name} missing from {files:?}"
        );
    }
    assert!(!files.iter().any(|f| f.contains("restored")), "{files:?}");
    let verified = run(&["verify", path_str(&work.join("model-4bit.entro"))]);
    assert!(verified.status.success());
}

#[test]
fn synth_writes_a_checkpoint_that_compresses() {
    let dir = tempfile::tempdir().unwrap();
    let model = tmp_path(&dir, "synthetic.safetensors");
    let result = run(&["synth", "--params", "2500000", "-o", path_str(&model)]);
    assert!(result.status.success(), "{}", stderr(&result));
    let again = run(&["synth", "--params", "2500000", "-o", path_str(&model)]);
    assert_eq!(again.status.code(), Some(1), "no overwrite without --force");
    let entro = tmp_path(&dir, "synthetic.entro");
    let result = run(&["-v", "compress", path_str(&model), "-o", path_str(&entro)]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("quantized model.embed_tokens.weight"),
        "-v lists tensors"
    );
    let result = run(&[
        "synth",
        "--params",
        "10",
        "-o",
        path_str(&tmp_path(&dir, "x.safetensors")),
    ]);
    assert_eq!(result.status.code(), Some(2));
}

#[test]
fn help_and_version_succeed() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    for command in [
        "compress",
        "decompress",
        "inspect",
        "verify",
        "bench",
        "demo",
    ] {
        assert!(text.contains(command), "{text}");
    }
    let compress_help = stdout(&run(&["compress", "--help"]));
    for flag in [
        "--bits",
        "--scheme",
        "--granularity",
        "--clip",
        "--keep",
        "--threads",
        "--force",
    ] {
        assert!(compress_help.contains(flag), "{compress_help}");
    }
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(stdout(&version).starts_with("entro "));
}

/// Ctrl-C during `compress` stops it with status 130 and removes the partial output.
#[cfg(unix)]
#[test]
fn an_interrupted_compress_leaves_no_file() {
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let model = tmp_path(&dir, "model.safetensors");
    // Big enough that compressing takes a while even in release builds.
    let result = run(&["synth", "--params", "60000000", "-o", path_str(&model)]);
    assert!(result.status.success(), "{}", stderr(&result));
    let out = tmp_path(&dir, "model.entro");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("entro"))
        .args([
            "compress",
            path_str(&model),
            "-o",
            path_str(&out),
            "--threads",
            "1",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the writer's temporary file exists, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !files_in(dir.path()).iter().any(|f| f.contains(".tmp-")) {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "compress ended before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(files_in(dir.path()), vec!["model.safetensors"]);
}
