//! Sentence embeddings of BERT-family encoders (candle-transformers' `bert`), and how faithfully a
//! compressed model reproduces them.

use candle_core::{Device, Tensor};
use candle_transformers::models::bert::{BertModel, Config as BertConfig};

use crate::{Error, Result, Weights};

/// Longest sequence (in tokens, special tokens included) embedded by default: sentence-transformers'
/// `max_seq_length` for all-MiniLM-L6-v2 and most of its relatives.
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// A BERT encoder that turns token sequences into mean-pooled sentence embeddings.
pub struct BertEncoder {
    model: BertModel,
    max_positions: usize,
}

impl std::fmt::Debug for BertEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // candle-transformers' model has no Debug; its position table size identifies it enough.
        f.debug_struct("BertEncoder")
            .field("max_positions", &self.max_positions)
            .finish_non_exhaustive()
    }
}

impl BertEncoder {
    /// Builds the encoder from Hugging Face tensor names (`embeddings.word_embeddings.weight`,
    /// `encoder.layer.{i}.attention.self.query.weight`, ..., optionally under `bert.`).
    ///
    /// # Errors
    ///
    /// [`Error::Candle`] when a tensor is missing or misshapen.
    pub fn load(config: &BertConfig, weights: &Weights) -> Result<Self> {
        let model = BertModel::load(weights.var_builder(), config)?;
        Ok(Self {
            model,
            max_positions: config.max_position_embeddings,
        })
    }

    /// The mean over positions of the last hidden layer for one tokenized sequence (special tokens
    /// included, as sentence-transformers pools them).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty sequence; [`Error::LimitExceeded`] for one longer
    /// than the model's position table; [`Error::Candle`] if the model fails.
    pub fn embed(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        if tokens.is_empty() {
            return Err(Error::InvalidArgument {
                what: "sequence length",
                value: "0".to_owned(),
                expected: "at least one token",
            });
        }
        if tokens.len() > self.max_positions {
            return Err(Error::LimitExceeded {
                what: "sequence length",
                found: tokens.len() as u64,
                limit: self.max_positions as u64,
            });
        }
        let device = Device::Cpu;
        let ids = Tensor::new(tokens, &device)?.unsqueeze(0)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, None)?;
        Ok(hidden.mean(1)?.squeeze(0)?.to_vec1::<f32>()?)
    }
}

/// Cosine similarity of two vectors, in `f64` (0 when either is all zeros).
#[must_use]
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut norm_a, mut norm_b) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    if norm_a == 0.0 || norm_b == 0.0 {
        return 0.0;
    }
    dot / (norm_a.sqrt() * norm_b.sqrt())
}

/// How close a compressed model's sentence embeddings are to the original's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fidelity {
    /// Sentences compared.
    pub lines: usize,
    /// Mean cosine similarity.
    pub mean_cosine: f64,
    /// Smallest cosine similarity.
    pub min_cosine: f64,
}

/// Compares embeddings line by line.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when the two lists differ in length; [`Error::TextTooShort`] when
/// they are empty.
pub fn fidelity(reference: &[Vec<f32>], candidate: &[Vec<f32>]) -> Result<Fidelity> {
    if reference.len() != candidate.len() {
        return Err(Error::InvalidArgument {
            what: "embedding count",
            value: format!("{} against {}", candidate.len(), reference.len()),
            expected: "one embedding per reference line",
        });
    }
    if reference.is_empty() {
        return Err(Error::TextTooShort {
            found: 0,
            needed: 1,
        });
    }
    let cosines: Vec<f64> = reference
        .iter()
        .zip(candidate)
        .map(|(a, b)| cosine(a, b))
        .collect();
    Ok(Fidelity {
        lines: cosines.len(),
        mean_cosine: cosines.iter().sum::<f64>() / cosines.len() as f64,
        min_cosine: cosines.iter().copied().fold(f64::INFINITY, f64::min),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_simple_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((cosine(&[1.0, 2.0], &[-2.0, -4.0]) + 1.0).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn fidelity_takes_mean_and_minimum() {
        let reference = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let candidate = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
        let result = fidelity(&reference, &candidate).unwrap();
        assert_eq!(result.lines, 2);
        let half_root = 0.5f64.sqrt();
        assert!((result.min_cosine - half_root).abs() < 1e-12);
        assert!((result.mean_cosine - (1.0 + half_root) / 2.0).abs() < 1e-12);
        assert!(matches!(
            fidelity(&reference, &candidate[..1]),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            fidelity(&[], &[]),
            Err(Error::TextTooShort { .. })
        ));
    }
}
