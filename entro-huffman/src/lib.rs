//! Being written.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
