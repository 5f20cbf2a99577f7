//! Parallel decoding of `.entro` checkpoints.
//!
//! This crate is being written (see the project's issue on parallel
//! decoding). It exposes nothing yet.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
