//! Windowed perplexity, scored the way llama.cpp's `llama-perplexity` and the Hugging Face recipe do.
//!
//! The text is tokenized whole (no BOS). Windows of `stride + 1` tokens start every `stride`
//! tokens; a window predicts its last `stride` tokens from the ones before it (only those inside
//! the window), so every token but the first is scored exactly once. The last window may be
//! shorter. Perplexity is `exp` of the mean negative log-likelihood (natural log) over all scored
//! tokens.

use candle_core::Tensor;

use crate::llama::Llama;
use crate::{Error, Result};

/// The default stride: windows of 513 tokens scoring 512 each.
pub const DEFAULT_STRIDE: usize = 512;

/// Largest stride accepted.
pub const MAX_STRIDE: usize = crate::llama::MAX_SEQUENCE - 1;

/// A model that gives next-token logits for every position of a sequence.
pub trait CausalLm {
    /// Logits of every position of `tokens`, shape `[tokens.len(), vocab]`, `f32`.
    ///
    /// # Errors
    ///
    /// Whatever the model reports.
    fn logits(&self, tokens: &[u32]) -> Result<Tensor>;
}

impl CausalLm for Llama {
    fn logits(&self, tokens: &[u32]) -> Result<Tensor> {
        self.forward(tokens)
    }
}

/// One window: tokens `start .. start + len`; the model reads all but the last and is scored on
/// all but the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Index of the window's first token in the text.
    pub start: usize,
    /// Tokens in the window (at least 2).
    pub len: usize,
}

impl Window {
    /// Tokens this window scores (`len - 1`).
    #[must_use]
    pub fn scored(&self) -> usize {
        self.len - 1
    }
}

/// The windows that cover `token_count` tokens at `stride` (see the module documentation).
///
/// # Errors
///
/// [`Error::InvalidArgument`] for a stride of 0 or above [`MAX_STRIDE`];
/// [`Error::TextTooShort`] for fewer than 2 tokens.
pub fn windows(token_count: usize, stride: usize) -> Result<Vec<Window>> {
    if stride == 0 || stride > MAX_STRIDE {
        return Err(Error::InvalidArgument {
            what: "window",
            value: stride.to_string(),
            expected: "1 to 65535 tokens",
        });
    }
    if token_count < 2 {
        return Err(Error::TextTooShort {
            found: token_count,
            needed: 2,
        });
    }
    Ok((0..token_count - 1)
        .step_by(stride)
        .map(|start| Window {
            start,
            len: (stride + 1).min(token_count - start),
        })
        .collect())
}

/// The result of scoring a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Perplexity {
    /// Tokens scored.
    pub tokens: usize,
    /// Sum of the negative log-likelihoods, in nats.
    pub nll_sum: f64,
}

impl Perplexity {
    /// Mean negative log-likelihood per token, in nats.
    #[must_use]
    pub fn mean_nll(&self) -> f64 {
        self.nll_sum / self.tokens.max(1) as f64
    }

    /// `exp(mean_nll)`.
    #[must_use]
    pub fn perplexity(&self) -> f64 {
        self.mean_nll().exp()
    }
}

/// `-ln softmax(logits)[target]`, computed in `f64`.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `target` is outside `logits`.
pub fn token_nll(logits: &[f32], target: u32) -> Result<f64> {
    let chosen = logits
        .get(target as usize)
        .ok_or_else(|| Error::InvalidArgument {
            what: "target token",
            value: target.to_string(),
            expected: "an id below the vocabulary size",
        })?;
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let sum: f64 = logits.iter().map(|&x| f64::from(x - max).exp()).sum();
    Ok(sum.ln() + f64::from(max) - f64::from(*chosen))
}

/// Scores `tokens` with `model` in windows of `stride + 1` tokens. `progress(scored, total)` is
/// called after each window with the number of tokens scored so far and in all.
///
/// # Errors
///
/// As [`windows`]; [`Error::Tensor`] when the model's logits do not have one row per input
/// token; whatever the model reports.
pub fn perplexity(
    model: &dyn CausalLm,
    tokens: &[u32],
    stride: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Perplexity> {
    let plan = windows(tokens.len(), stride)?;
    let total = tokens.len() - 1;
    let mut result = Perplexity {
        tokens: 0,
        nll_sum: 0.0,
    };
    for window in plan {
        let text = &tokens[window.start..window.start + window.len];
        let (inputs, targets) = (&text[..text.len() - 1], &text[1..]);
        let rows = model.logits(inputs)?.to_vec2::<f32>()?;
        if rows.len() != inputs.len() {
            return Err(Error::Tensor {
                name: "logits".to_owned(),
                expected: format!("{} rows", inputs.len()),
                found: format!("{} rows", rows.len()),
            });
        }
        for (row, &target) in rows.iter().zip(targets) {
            result.nll_sum += token_nll(row, target)?;
        }
        result.tokens += targets.len();
        progress(result.tokens, total);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn windows_score_every_token_but_the_first_once() {
        // The anchor text: 7,658 tokens, 7,657 scored, in 15 windows (14 full, one of 489).
        let plan = windows(7658, 512).unwrap();
        assert_eq!(plan.len(), 15);
        assert_eq!(plan[0], Window { start: 0, len: 513 });
        assert_eq!(
            plan[1],
            Window {
                start: 512,
                len: 513
            }
        );
        assert_eq!(
            plan[14],
            Window {
                start: 7168,
                len: 490
            }
        );
        assert_eq!(plan.iter().map(Window::scored).sum::<usize>(), 7657);
        // A text that ends exactly on a window boundary has no empty tail window.
        let plan = windows(1025, 512).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(
            plan[1],
            Window {
                start: 512,
                len: 513
            }
        );
        assert!(matches!(
            windows(1, 512),
            Err(Error::TextTooShort { found: 1, .. })
        ));
        assert!(matches!(windows(10, 0), Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn token_nll_is_the_log_softmax() {
        // ln(1 + 3) - ln 3 for logits [0, ln 3] and target 1; ln 4 for target 0.
        let logits = [0.0f32, 3f32.ln()];
        let nll = token_nll(&logits, 1).unwrap();
        assert!((nll - (4f64.ln() - 3f64.ln())).abs() < 1e-6);
        assert!((token_nll(&logits, 0).unwrap() - 4f64.ln()).abs() < 1e-6);
        assert!(matches!(
            token_nll(&logits, 2),
            Err(Error::InvalidArgument { .. })
        ));
        // Large logits do not overflow.
        let nll = token_nll(&[1000.0, 1000.0], 0).unwrap();
        assert!((nll - 2f64.ln()).abs() < 1e-9);
    }

    /// A two-token "model" that predicts the next token from the current one only:
    /// after token 0 it gives token 1 probability 3/4, after token 1 it gives token 0
    /// probability 1/2. It also records what it was asked.
    struct Bigram {
        calls: std::cell::RefCell<Vec<Vec<u32>>>,
    }

    impl CausalLm for Bigram {
        fn logits(&self, tokens: &[u32]) -> Result<Tensor> {
            self.calls.borrow_mut().push(tokens.to_vec());
            let rows: Vec<f32> = tokens
                .iter()
                .flat_map(|&t| if t == 0 { [0.0, 3f32.ln()] } else { [0.0, 0.0] })
                .collect();
            Ok(Tensor::from_vec(rows, (tokens.len(), 2), &Device::Cpu)?)
        }
    }

    #[test]
    fn hand_computed_perplexity() {
        let model = Bigram {
            calls: std::cell::RefCell::new(Vec::new()),
        };
        // Stride 2: windows [0, 1, 1], [1, 0, 1], [1, 0] over the text 0 1 1 0 1 0.
        let tokens = [0, 1, 1, 0, 1, 0];
        let mut seen = Vec::new();
        let result = perplexity(&model, &tokens, 2, &mut |done, total| {
            seen.push((done, total))
        })
        .unwrap();
        assert_eq!(seen, vec![(2, 5), (4, 5), (5, 5)]);
        assert_eq!(*model.calls.borrow(), vec![vec![0, 1], vec![1, 0], vec![1]]);
        // Scored transitions: 0→1 (3/4), 1→1 (1/2), 1→0 (1/2), 0→1 (3/4), 1→0 (1/2).
        let expected_nll = -(2.0 * 0.75f64.ln() + 3.0 * 0.5f64.ln());
        assert_eq!(result.tokens, 5);
        assert!((result.nll_sum - expected_nll).abs() < 1e-6);
        let expected = (expected_nll / 5.0).exp();
        assert!((result.perplexity() - expected).abs() < 1e-6);
        // exp((2 ln(4/3) + 3 ln 2) / 5) = (4/3)^(2/5) * 2^(3/5), about 1.70056.
        assert!((result.perplexity() - 1.700_56).abs() < 1e-4);
    }
}
