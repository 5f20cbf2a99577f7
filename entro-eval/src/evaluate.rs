//! One text, one model folder, many checkpoints: the scores `entro eval` prints.

use crate::bert::{BertEncoder, Fidelity, fidelity};
use crate::llama::Llama;
use crate::model_dir::{Architecture, ModelDir};
use crate::perplexity::{DEFAULT_STRIDE, Perplexity, perplexity, windows};
use crate::{Error, Result, Weights};

/// How a text is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalOptions {
    /// Perplexity stride: windows of `stride + 1` tokens start every `stride` tokens.
    pub stride: usize,
    /// Embedding fidelity: compare at most this many non-empty lines (all when `None`).
    pub max_lines: Option<usize>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            stride: DEFAULT_STRIDE,
            max_lines: None,
        }
    }
}

/// What a checkpoint scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// A llama model's perplexity on the text.
    Perplexity(Perplexity),
    /// A BERT model's sentence embeddings against the reference checkpoint's.
    Embedding(Fidelity),
}

impl Score {
    /// The headline number: perplexity (lower is better) or mean cosine similarity (higher is
    /// better).
    #[must_use]
    pub fn value(&self) -> f64 {
        match self {
            Self::Perplexity(result) => result.perplexity(),
            Self::Embedding(result) => result.mean_cosine,
        }
    }

    /// Change from `reference` in percent of the reference's value.
    #[must_use]
    pub fn change_percent(&self, reference: &Score) -> f64 {
        let base = reference.value();
        if base == 0.0 {
            return 0.0;
        }
        (self.value() - base) / base * 100.0
    }
}

#[derive(Debug)]
enum Task {
    Perplexity {
        tokens: Vec<u32>,
        stride: usize,
    },
    Embedding {
        lines: Vec<Vec<u32>>,
        reference: Option<Vec<Vec<f32>>>,
    },
}

/// Scores checkpoints of one model on one text.
///
/// The text is tokenized once. For BERT models the first checkpoint scored (normally the
/// original) becomes the reference the others are compared with.
#[derive(Debug)]
pub struct Evaluator {
    model: ModelDir,
    task: Task,
}

impl Evaluator {
    /// Tokenizes `text` for `model`: whole and without special tokens for llama models; line by
    /// line (non-empty lines, trimmed, with the tokenizer's special tokens) for BERT models.
    ///
    /// # Errors
    ///
    /// [`Error::Tokenizer`]; [`Error::TextTooShort`] when nothing can be scored; the errors of
    /// [`windows`] for a bad stride.
    pub fn new(model: ModelDir, text: &str, options: EvalOptions) -> Result<Self> {
        let mut sequences = model.encode_text(text, options.max_lines)?;
        let task = match model.architecture() {
            Architecture::Llama(_) => {
                let tokens = sequences.pop().unwrap_or_default();
                windows(tokens.len(), options.stride)?;
                Task::Perplexity {
                    tokens,
                    stride: options.stride,
                }
            }
            Architecture::Bert(_) => {
                if sequences.is_empty() {
                    return Err(Error::TextTooShort {
                        found: 0,
                        needed: 1,
                    });
                }
                Task::Embedding {
                    lines: sequences,
                    reference: None,
                }
            }
        };
        Ok(Self { model, task })
    }

    /// The model folder.
    #[must_use]
    pub fn model(&self) -> &ModelDir {
        &self.model
    }

    /// Units of work per checkpoint, as the progress callback counts them: tokens scored
    /// (perplexity) or lines embedded (fidelity).
    #[must_use]
    pub fn work(&self) -> usize {
        match &self.task {
            Task::Perplexity { tokens, .. } => tokens.len() - 1,
            Task::Embedding { lines, .. } => lines.len(),
        }
    }

    /// Tokens in the text (perplexity) or lines compared (fidelity).
    #[must_use]
    pub fn units(&self) -> usize {
        match &self.task {
            Task::Perplexity { tokens, .. } => tokens.len(),
            Task::Embedding { lines, .. } => lines.len(),
        }
    }

    /// Scores one checkpoint of the model. `progress(done, total)` follows [`work`](Self::work).
    ///
    /// # Errors
    ///
    /// The errors of building the model from `weights` ([`Error::Tensor`], [`Error::Candle`]) and of
    /// running it.
    pub fn score(
        &mut self,
        weights: &Weights,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Score> {
        match (&mut self.task, self.model.architecture()) {
            (Task::Perplexity { tokens, stride }, Architecture::Llama(config)) => {
                let model = Llama::load(config, weights)?;
                Ok(Score::Perplexity(perplexity(
                    &model, tokens, *stride, progress,
                )?))
            }
            (Task::Embedding { lines, reference }, Architecture::Bert(config)) => {
                let encoder = BertEncoder::load(config, weights)?;
                let mut embeddings = Vec::with_capacity(lines.len());
                for line in lines.iter() {
                    embeddings.push(encoder.embed(line)?);
                    progress(embeddings.len(), lines.len());
                }
                let reference = reference.get_or_insert_with(|| embeddings.clone());
                Ok(Score::Embedding(fidelity(reference, &embeddings)?))
            }
            (_, architecture) => Err(Error::UnsupportedArchitecture {
                found: architecture.name().to_owned(),
            }),
        }
    }
}
