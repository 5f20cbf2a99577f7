//! The `.entro` container: quantized, Huffman-coded checkpoints on disk.
//!
//! This crate is being written (see the project's issue on the container
//! format). It exposes nothing yet.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
