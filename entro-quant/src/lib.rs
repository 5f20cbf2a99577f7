//! Mixed quantization of LLM weights: the first stage of EntroLLM
//! (Sanyal et al., arXiv 2505.02380), with finer granularities, range clipping
//! and error statistics to trade size against accuracy.
//!
//! # The paper's method (the default)
//!
//! One scale per tensor. A tensor whose weights all share one sign gets
//! **unsigned** codes (zero maps to code 0; an all-non-positive tensor is
//! stored by magnitude with a negative scale); any other tensor gets
//! **asymmetric** min-max codes with a zero point. That choice is
//! [`Scheme::Auto`]. Bit widths 2..=8 are supported; a code is one byte.
//!
//! Dequantization is defined as `((code as i32 - zero_point) as f32) * scale`
//! in f32 (see [`BlockParams::dequantize_code`]), rounded to nearest when the
//! output is F16 or BF16. Without clipping every weight lies within half a step
//! of its reconstruction, `|x - x̂| <= |scale| * (1/2 + 2^-12)` (the small
//! term is f32 rounding), and a block of equal weights is reconstructed
//! exactly. NaN and infinite weights are errors that name the tensor and index.
//!
//! # Beyond the paper
//!
//! [`Scheme::Symmetric`] as a third scheme, [`Granularity::Channel`] and
//! [`Granularity::Group`] for finer scales, [`QuantConfig::clip`] for a
//! range chosen by minimising the squared error, and [`QuantStats`] with the
//! code entropy and error of every tensor.
//!
//! # Example
//!
//! ```
//! use entro_quant::{dequantize, quantize, ChosenScheme, FloatSlice, FloatSliceMut, QuantConfig};
//!
//! # fn main() -> Result<(), entro_quant::QuantError> {
//! let weights: Vec<f32> = (0..64).map(|i| (i as f32 - 20.0) / 10.0).collect();
//! let shape = [8, 8];
//! let mut codes = vec![0u8; weights.len()];
//! let config = QuantConfig { bits: 4, ..QuantConfig::default() };
//! let report = quantize("layer.weight", FloatSlice::F32(&weights), &shape, &config, &mut codes)?;
//! assert_eq!(report.params.scheme, ChosenScheme::Asymmetric);
//! assert!(report.stats.entropy_bits <= 4.0);
//!
//! let mut restored = vec![0.0f32; weights.len()];
//! dequantize(&codes, &report.params, &shape, FloatSliceMut::F32(&mut restored))?;
//! let half_step = report.params.blocks[0].scale * 0.5;
//! for (w, r) in weights.iter().zip(&restored) {
//!     assert!((w - r).abs() <= half_step * 1.001);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod clip;
mod config;
mod dequantize;
mod derive;
mod encode;
mod error;
mod grid;
mod histogram;
mod input;
mod layout;
mod params;
mod quantize;
mod scan;
mod stats;

pub use config::{ChosenScheme, Granularity, MAX_BITS, MIN_BITS, QuantConfig, Scheme};
pub use dequantize::dequantize;
pub use error::QuantError;
pub use input::{FloatSlice, FloatSliceMut};
pub use layout::{BlockLayout, MAX_BLOCKS};
pub use params::{BlockParams, QuantParams};
pub use quantize::{quantize, quantize_with_params};
pub use scan::MAX_ABS_WEIGHT;
pub use stats::{QuantReport, QuantStats, code_entropy};

/// Whether a tensor is quantized by default: floating point with 2 or more
/// dimensions (embeddings and the output head included). 1-D tensors (norms,
/// biases), scalars and integer tensors are kept exactly.
pub fn should_quantize(dtype_is_float: bool, shape: &[usize]) -> bool {
    dtype_is_float && shape.len() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_selection_rule() {
        assert!(should_quantize(true, &[4, 4]));
        assert!(should_quantize(true, &[2, 3, 4]));
        assert!(should_quantize(true, &[0, 4]));
        assert!(!should_quantize(true, &[4]));
        assert!(!should_quantize(true, &[]));
        assert!(!should_quantize(false, &[4, 4]));
    }
}

/// Compiles and runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
