//! Errors of this crate, grouped in categories a caller can tell apart.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading or writing `.entro` and safetensors files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on a file failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file or folder the call was about.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },
    /// The bytes of a `.entro` file do not follow the format.
    #[error("malformed .entro file at byte {offset}: expected {expected}, found {found}")]
    Format {
        /// Absolute byte offset in the file where the problem was seen.
        offset: u64,
        /// What the format requires there.
        expected: String,
        /// What the file holds instead.
        found: String,
    },
    /// The file is a `.entro` file of another version than this reader's (a newer one, or version
    /// 1, whose 8-bit chunks had another layout).
    #[error("unsupported .entro version {found} (this reader supports version {supported})")]
    UnsupportedVersion {
        /// The version the file declares.
        found: u32,
        /// The version this reader implements.
        supported: u32,
    },
    /// A tensor uses an encoding tag this reader does not know (for example a later lossless mode).
    #[error("unsupported encoding tag {tag} for tensor `{tensor}` at byte {offset}")]
    UnsupportedEncoding {
        /// The tensor's name.
        tensor: String,
        /// The unknown tag.
        tag: u8,
        /// Absolute byte offset of the tag.
        offset: u64,
    },
    /// A count or length is above one of the crate's named `MAX_*` limits.
    #[error("{what} is {found}, over the limit of {limit}")]
    LimitExceeded {
        /// What was counted or measured.
        what: &'static str,
        /// The limit (see [`crate::limits`]).
        limit: u64,
        /// The value found.
        found: u64,
    },
    /// Stored and computed checksums differ: the file was damaged.
    #[error("checksum mismatch in {location}: stored {expected:#010x}, computed {found:#010x}")]
    ChecksumMismatch {
        /// Which part of the file the checksum covers.
        location: ChecksumLocation,
        /// The checksum stored in the file.
        expected: u32,
        /// The checksum of the bytes as they are.
        found: u32,
    },
    /// A safetensors file or index is malformed.
    #[error("invalid safetensors input {}: expected {expected}, found {found}", path.display())]
    Safetensors {
        /// The file at fault.
        path: PathBuf,
        /// What the safetensors layout requires.
        expected: String,
        /// What the file holds instead.
        found: String,
    },
    /// The caller passed arguments that cannot be honoured (a programming or usage error).
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What is wrong with the arguments.
        message: String,
    },
    /// No Huffman codebook could be built for a tensor's codes.
    #[error("could not build a codebook for tensor `{tensor}`: {source}")]
    BuildCodebook {
        /// The tensor's name.
        tensor: String,
        /// The Huffman coder's report.
        #[source]
        source: entro_huffman::BuildError,
    },
    /// Huffman coding of a tensor's codes failed.
    #[error("could not Huffman-code tensor `{tensor}`: {source}")]
    Encode {
        /// The tensor's name.
        tensor: String,
        /// The Huffman coder's report.
        #[source]
        source: entro_huffman::EncodeError,
    },
    /// The lossless codec refused a chunk of a tensor (caller misuse, for
    /// example a chunk over the codec's size limit).
    #[error("could not losslessly code chunk {chunk} of tensor `{tensor}`: {source}")]
    LosslessEncode {
        /// The tensor's name.
        tensor: String,
        /// The chunk's index within the tensor.
        chunk: usize,
        /// The codec's report.
        #[source]
        source: crate::lossless::LosslessError,
    },
}

/// The part of a `.entro` file a checksum protects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumLocation {
    /// The header (all tensor records and metadata).
    Header,
    /// The whole payload of a tensor kept exactly.
    RawPayload {
        /// The tensor's name.
        tensor: String,
    },
    /// One chunk of a quantized (Huffman-coded) or lossless tensor.
    Chunk {
        /// The tensor's name.
        tensor: String,
        /// The chunk's index within the tensor.
        chunk: usize,
    },
}

impl fmt::Display for ChecksumLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header => f.write_str("the header"),
            Self::RawPayload { tensor } => write!(f, "the payload of tensor `{tensor}`"),
            Self::Chunk { tensor, chunk } => write!(f, "chunk {chunk} of tensor `{tensor}`"),
        }
    }
}

/// The category of an [`Error`], for callers that map errors to exit codes or retries.
///
/// The set of categories is fixed (callers match it exhaustively, e.g. to
/// choose exit codes); new error variants join one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// Malformed input: [`Error::Format`], [`Error::Safetensors`].
    Format,
    /// [`Error::UnsupportedVersion`] and [`Error::UnsupportedEncoding`].
    Unsupported,
    /// [`Error::LimitExceeded`].
    LimitExceeded,
    /// [`Error::ChecksumMismatch`].
    Checksum,
    /// Caller misuse: [`Error::InvalidArgument`], [`Error::BuildCodebook`], [`Error::Encode`],
    /// [`Error::LosslessEncode`].
    InvalidArgument,
}

impl Error {
    /// The category this error belongs to.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. } => ErrorKind::Io,
            Self::Format { .. } | Self::Safetensors { .. } => ErrorKind::Format,
            Self::UnsupportedVersion { .. } | Self::UnsupportedEncoding { .. } => {
                ErrorKind::Unsupported
            }
            Self::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Self::ChecksumMismatch { .. } => ErrorKind::Checksum,
            Self::InvalidArgument { .. }
            | Self::BuildCodebook { .. }
            | Self::Encode { .. }
            | Self::LosslessEncode { .. } => ErrorKind::InvalidArgument,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Format {
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn limit(what: &'static str, limit: u64, found: u64) -> Self {
        Self::LimitExceeded { what, limit, found }
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            message: message.into(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Widens a `usize` for limit reports; lossless on every supported target.
pub(crate) fn as_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Checks `found <= limit`, naming `what` in the error.
pub(crate) fn check_limit(what: &'static str, found: u64, limit: u64) -> Result<()> {
    if found > limit {
        Err(Error::limit(what, limit, found))
    } else {
        Ok(())
    }
}
