//! Errors of this crate, grouped in categories a caller can tell apart ([`ErrorKind`]).

use std::path::PathBuf;

/// Everything that can go wrong loading or evaluating a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// I/O: a file of the model folder or the text could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Bad input: `config.json` is not valid JSON or lacks a field this crate needs.
    #[error("{path} is not a usable model configuration: {reason}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Bad input: the model folder names an architecture this crate does not run.
    #[error("unsupported model architecture `{found}` (expected a llama or bert model)")]
    UnsupportedArchitecture {
        /// The `model_type` (or first `architectures` entry) found.
        found: String,
    },
    /// Bad input: `tokenizer.json` could not be loaded, or tokenizing failed.
    #[error("tokenizer {path}: {reason}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// The tokenizers crate's message.
        reason: String,
    },
    /// Bad input: a checkpoint (safetensors or `.entro`) could not be opened or read.
    #[error("checkpoint {path}: {source}")]
    Checkpoint {
        /// The checkpoint file or folder.
        path: PathBuf,
        /// The container's report.
        #[source]
        source: entro_format::Error,
    },
    /// Bad input: a `.entro` file could not be decoded.
    #[error("decoding {path}: {source}")]
    Decode {
        /// The `.entro` file.
        path: PathBuf,
        /// The decoder's report (boxed: it is several times larger than the other variants).
        #[source]
        source: Box<entro_decode::Error>,
    },
    /// Bad input: a tensor the model needs is missing or has the wrong shape or type.
    #[error("tensor `{name}`: expected {expected}, found {found}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What the model needs.
        expected: String,
        /// What the checkpoint holds.
        found: String,
    },
    /// Bad input: the text gives too few tokens (or lines) to score anything.
    #[error("the text gives {found} tokens or lines; at least {needed} are needed")]
    TextTooShort {
        /// How many there are.
        found: usize,
        /// The fewest that can be scored.
        needed: usize,
    },
    /// Caller misuse: an argument is out of its range.
    #[error("invalid {what}: {value} ({expected})")]
    InvalidArgument {
        /// The argument's name.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// Limits exceeded: a dimension or count is larger than this crate accepts.
    #[error("{what} is {found}, above the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The value found.
        found: u64,
        /// The largest accepted value.
        limit: u64,
    },
    /// Computation: candle reported an error running the model.
    #[error("model computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// The categories of [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read.
    Io,
    /// Input (configuration, tokenizer, checkpoint, text) is malformed or unsupported.
    Format,
    /// The caller passed an invalid argument.
    Parameter,
    /// A size is above this crate's limits.
    Limit,
    /// The tensor library failed while computing.
    Compute,
}

impl Error {
    /// The category of this error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. } => ErrorKind::Io,
            Self::Config { .. }
            | Self::UnsupportedArchitecture { .. }
            | Self::Tokenizer { .. }
            | Self::Checkpoint { .. }
            | Self::Decode { .. }
            | Self::Tensor { .. }
            | Self::TextTooShort { .. } => ErrorKind::Format,
            Self::InvalidArgument { .. } => ErrorKind::Parameter,
            Self::LimitExceeded { .. } => ErrorKind::Limit,
            Self::Candle(_) => ErrorKind::Compute,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
