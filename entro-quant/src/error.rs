//! The error type of every fallible operation in this crate.

use crate::config::Scheme;

/// Why quantization, dequantization or parameter validation failed.
///
/// Variants fall into four groups, named in each doc line: bad input data
/// (weights, codes or parameters read from a file), caller misuse (a
/// configuration or buffer that does not fit the call), limits exceeded, and
/// text that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantError {
    /// Bad input: a weight is NaN or infinite.
    #[error("tensor {tensor:?}: weight at index {index} is not finite ({value})")]
    NonFinite {
        /// Name of the tensor, as given by the caller.
        tensor: String,
        /// Element index (row-major) of the first offending weight.
        index: usize,
        /// The offending value, widened to f32.
        value: f32,
    },
    /// Limit exceeded: a weight's magnitude is above [`MAX_ABS_WEIGHT`](crate::MAX_ABS_WEIGHT).
    #[error(
        "tensor {tensor:?}: weight at index {index} has magnitude {value} above the limit {limit}"
    )]
    ValueTooLarge {
        /// Name of the tensor, as given by the caller.
        tensor: String,
        /// Element index (row-major) of the first offending weight.
        index: usize,
        /// The offending value, widened to f32.
        value: f32,
        /// The largest accepted magnitude.
        limit: f32,
    },
    /// Limit exceeded: the product of the shape's dimensions overflows `usize`.
    #[error("shape {shape:?} has more elements than fit in usize")]
    ShapeOverflow {
        /// The offending shape.
        shape: Vec<usize>,
    },
    /// Limit exceeded: the shape and granularity give more than [`MAX_BLOCKS`](crate::MAX_BLOCKS)
    /// blocks (only possible with empty rows, e.g. shape `[huge, 0]` per channel).
    #[error("shape {shape:?} gives {blocks} blocks, above the limit {limit}")]
    TooManyBlocks {
        /// The offending shape.
        shape: Vec<usize>,
        /// Block count it implies.
        blocks: u128,
        /// The largest accepted block count.
        limit: usize,
    },
    /// Caller misuse: a slice's length does not match the element count of the shape.
    #[error("{what}: expected {expected} elements for shape {shape:?}, found {found}")]
    LengthMismatch {
        /// Which slice is wrong (`"input"`, `"codes"` or `"output"`).
        what: &'static str,
        /// The shape the slice was checked against.
        shape: Vec<usize>,
        /// Element count implied by the shape.
        expected: usize,
        /// Length of the slice.
        found: usize,
    },
    /// Caller misuse (or bad parameters read from a file): bit width outside 2..=8.
    #[error("bit width {bits} is outside {min}..={max}", min = crate::MIN_BITS, max = crate::MAX_BITS)]
    InvalidBits {
        /// The rejected bit width.
        bits: u8,
    },
    /// Caller misuse (or bad parameters read from a file): a group size of zero.
    #[error("group size must be at least 1, found {group}")]
    InvalidGroupSize {
        /// The rejected group size.
        group: u32,
    },
    /// Caller misuse: the requested scheme cannot represent the tensor's sign pattern
    /// (`unsigned` on a tensor with both signs).
    #[error("tensor {tensor:?}: scheme {scheme} cannot represent the range [{min}, {max}]")]
    SchemeMismatch {
        /// Name of the tensor, as given by the caller.
        tensor: String,
        /// The requested scheme.
        scheme: Scheme,
        /// Smallest weight of the tensor.
        min: f32,
        /// Largest weight of the tensor.
        max: f32,
    },
    /// Bad parameters: the number of blocks does not match the shape and granularity.
    #[error("expected {expected} blocks of parameters, found {found}")]
    BlockCountMismatch {
        /// Block count implied by shape and granularity.
        expected: usize,
        /// Number of blocks supplied.
        found: usize,
    },
    /// Bad parameters: a block's scale is not finite or has the wrong sign for the scheme.
    #[error("block {block}: scale {scale} is not valid for this scheme")]
    InvalidScale {
        /// Index of the offending block.
        block: usize,
        /// The rejected scale.
        scale: f32,
    },
    /// Bad parameters: a block's zero point is outside what the scheme and bit width allow.
    #[error("block {block}: zero point {zero_point} is outside {min}..={max}")]
    InvalidZeroPoint {
        /// Index of the offending block.
        block: usize,
        /// The rejected zero point.
        zero_point: i32,
        /// Smallest allowed zero point.
        min: i32,
        /// Largest allowed zero point.
        max: i32,
    },
    /// Bad parameters: a serialized scheme or granularity tag is unknown.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// What the tag encodes (`"scheme"` or `"granularity"`).
        what: &'static str,
        /// The unknown tag.
        tag: u8,
    },
    /// Bad input: a code is not below `2^bits`.
    #[error("code {code} at index {index} does not fit in {bits} bits")]
    CodeOutOfRange {
        /// Element index of the offending code.
        index: usize,
        /// The offending code.
        code: u8,
        /// The bit width of the parameters.
        bits: u8,
    },
    /// Text does not parse as a scheme or granularity.
    #[error("cannot parse {input:?} as {what}; expected {expected}")]
    Parse {
        /// What was being parsed.
        what: &'static str,
        /// The text that was rejected.
        input: String,
        /// The accepted forms.
        expected: &'static str,
    },
}
