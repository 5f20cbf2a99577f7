//! safetensors checkpoints in and out: single files and sharded (index plus shards).

mod export;
mod import;
mod index;
mod json;

pub use export::{SafetensorsWriter, TensorSpec};
pub use import::{SafetensorsCheckpoint, SafetensorsTensor};
pub use index::{INDEX_FILE_NAME, SINGLE_FILE_NAME};
