//! Loading the real SmolLM2 checkpoint from `../shared` (decompressed once into
//! the target directory) and any safetensors file, as quantizer input.

use std::error::Error;
use std::fs::File;
use std::path::{Path, PathBuf};

use entro_quant::should_quantize;
use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};

use super::Weights;

/// Location of the compressed checkpoint, relative to this crate.
const COMPRESSED: &str = "../../shared/models/SmolLM2-135M-Instruct/model.safetensors.zst";

/// One float tensor of a checkpoint.
#[derive(Debug)]
pub struct LoadedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub weights: Weights,
}

fn target_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => manifest.join("..").join(dir),
        None => manifest.join("../target"),
    }
}

/// Path of the decompressed checkpoint, decompressing it on first use, or the
/// reason it is unavailable (no `../shared` checkout).
pub fn real_checkpoint() -> Result<PathBuf, String> {
    let compressed = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMPRESSED);
    if !compressed.is_file() {
        return Err(format!(
            "{} not found (no ../shared checkout)",
            compressed.display()
        ));
    }
    let dir = target_dir().join("entro-fixtures/SmolLM2-135M-Instruct");
    let path = dir.join("model.safetensors");
    if path.is_file() {
        return Ok(path);
    }
    let decompress = || -> Result<(), Box<dyn Error>> {
        std::fs::create_dir_all(&dir)?;
        // A private temporary name, renamed into place, so that concurrent
        // test processes never read a half-written file.
        let temporary = dir.join(format!("model.safetensors.tmp{}", std::process::id()));
        zstd::stream::copy_decode(File::open(&compressed)?, File::create(&temporary)?)?;
        std::fs::rename(&temporary, &path)?;
        Ok(())
    };
    decompress().map_err(|err| format!("cannot decompress {}: {err}", compressed.display()))?;
    Ok(path)
}

/// The tensors of a safetensors file that the quantizer takes by default
/// (float, 2 or more dimensions), in the order the safetensors crate lists them.
pub fn quantizable_tensors(path: &Path) -> Result<Vec<LoadedTensor>, Box<dyn Error>> {
    let bytes = std::fs::read(path)?;
    let file = SafeTensors::deserialize(&bytes)?;
    let mut tensors = Vec::new();
    for (name, view) in file.iter() {
        let is_float = matches!(view.dtype(), Dtype::F32 | Dtype::F16 | Dtype::BF16);
        if !should_quantize(is_float, view.shape()) {
            continue;
        }
        let data = view.data();
        let weights = match view.dtype() {
            Dtype::F32 => Weights::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::F16 => Weights::F16(
                data.chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]))
                    .collect(),
            ),
            _ => Weights::BF16(
                data.chunks_exact(2)
                    .map(|b| bf16::from_le_bytes([b[0], b[1]]))
                    .collect(),
            ),
        };
        tensors.push(LoadedTensor {
            name: name.to_owned(),
            shape: view.shape().to_vec(),
            weights,
        });
    }
    Ok(tensors)
}
