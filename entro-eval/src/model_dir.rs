//! A Hugging Face model folder: `config.json`, `tokenizer.json` and safetensors weights.

use std::path::{Path, PathBuf};

use candle_transformers::models::bert::Config as BertConfig;
use tokenizers::Tokenizer;

use crate::bert::DEFAULT_MAX_TOKENS;
use crate::llama::LlamaConfig;
use crate::{Error, Result, Weights};

/// Largest `config.json` or `sentence_bert_config.json` read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The model families this crate runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Architecture {
    /// A llama-family decoder, scored by perplexity.
    Llama(LlamaConfig),
    /// A BERT-family encoder, scored by the fidelity of its mean-pooled sentence embeddings.
    Bert(Box<BertConfig>),
}

impl Architecture {
    /// `"llama"` or `"bert"`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Llama(_) => "llama",
            Self::Bert(_) => "bert",
        }
    }
}

/// A model folder in the Hugging Face layout.
#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
    architecture: Architecture,
    /// Longest tokenized line embedded (BERT only).
    max_tokens: usize,
}

impl ModelDir {
    /// Reads `config.json` in `root` and decides the architecture from its `model_type` (or its
    /// first `architectures` entry).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `config.json` cannot be read; [`Error::Config`] when it is malformed;
    /// [`Error::UnsupportedArchitecture`] for a model that is neither llama nor BERT; the errors of
    /// [`LlamaConfig::validate`].
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let config_path = root.join("config.json");
        let text = read_small(&config_path)?;
        let config_error = |reason: String| Error::Config {
            path: config_path.clone(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|err| config_error(err.to_string()))?;
        let model_type = value
            .get("model_type")
            .and_then(serde_json::Value::as_str)
            .or_else(|| {
                value
                    .get("architectures")
                    .and_then(|list| list.get(0))
                    .and_then(serde_json::Value::as_str)
            })
            .unwrap_or("")
            .to_ascii_lowercase();
        let architecture = if model_type.starts_with("llama") {
            let config: LlamaConfig =
                serde_json::from_value(value).map_err(|err| config_error(err.to_string()))?;
            config.validate()?;
            Architecture::Llama(config)
        } else if model_type.starts_with("bert") {
            let config: BertConfig =
                serde_json::from_value(value).map_err(|err| config_error(err.to_string()))?;
            Architecture::Bert(Box::new(config))
        } else {
            return Err(Error::UnsupportedArchitecture { found: model_type });
        };
        let max_tokens = match &architecture {
            Architecture::Bert(config) => {
                sentence_max_tokens(&root)?.min(config.max_position_embeddings)
            }
            Architecture::Llama(_) => 0,
        };
        Ok(Self {
            root,
            architecture,
            max_tokens,
        })
    }

    /// The folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The architecture and its configuration.
    #[must_use]
    pub fn architecture(&self) -> &Architecture {
        &self.architecture
    }

    /// Longest line, in tokens, that a BERT model embeds (`max_seq_length` of
    /// `sentence_bert_config.json`, else [`DEFAULT_MAX_TOKENS`], at most the position table).
    #[must_use]
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Loads `tokenizer.json` with padding turned off. Llama texts are not truncated; BERT lines
    /// are truncated to [`max_tokens`](Self::max_tokens).
    ///
    /// # Errors
    ///
    /// [`Error::Tokenizer`] when the file is missing or malformed.
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let path = self.root.join("tokenizer.json");
        let tokenizer_error = |reason: String| Error::Tokenizer {
            path: path.clone(),
            reason,
        };
        let mut tokenizer =
            Tokenizer::from_file(&path).map_err(|err| tokenizer_error(err.to_string()))?;
        tokenizer.with_padding(None);
        let truncation = match self.architecture {
            Architecture::Bert(_) => Some(tokenizers::TruncationParams {
                max_length: self.max_tokens,
                ..tokenizers::TruncationParams::default()
            }),
            Architecture::Llama(_) => None,
        };
        tokenizer
            .with_truncation(truncation)
            .map_err(|err| tokenizer_error(err.to_string()))?;
        Ok(tokenizer)
    }

    /// `text` as the model reads it, in token ids: for a BERT encoder one sequence per non-empty
    /// line (trimmed, with the tokenizer's special tokens, truncated to
    /// [`max_tokens`](Self::max_tokens)), at most `max_lines` of them; for a llama model one
    /// sequence, the whole text without special tokens (no BOS).
    ///
    /// # Errors
    ///
    /// [`Error::Tokenizer`] when the tokenizer cannot be loaded or fails on the text.
    pub(crate) fn encode_text(
        &self,
        text: &str,
        max_lines: Option<usize>,
    ) -> Result<Vec<Vec<u32>>> {
        let tokenizer = self.tokenizer()?;
        let encode = |text: &str, special: bool| {
            tokenizer
                .encode(text, special)
                .map(|encoding| encoding.get_ids().to_vec())
                .map_err(|err| Error::Tokenizer {
                    path: self.root.join("tokenizer.json"),
                    reason: err.to_string(),
                })
        };
        match self.architecture {
            Architecture::Bert(_) => text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .take(max_lines.unwrap_or(usize::MAX))
                .map(|line| encode(line, true))
                .collect(),
            Architecture::Llama(_) => Ok(vec![encode(text, false)?]),
        }
    }

    /// Loads the folder's own safetensors weights (single file or sharded).
    ///
    /// # Errors
    ///
    /// As [`Weights::from_safetensors`].
    pub fn load_weights(&self) -> Result<Weights> {
        Weights::from_safetensors(&self.root)
    }
}

fn sentence_max_tokens(root: &Path) -> Result<usize> {
    let path = root.join("sentence_bert_config.json");
    if !path.exists() {
        return Ok(DEFAULT_MAX_TOKENS);
    }
    let text = read_small(&path)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|err| Error::Config {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    Ok(value
        .get("max_seq_length")
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n >= 2)
        .unwrap_or(DEFAULT_MAX_TOKENS))
}

fn read_small(path: &Path) -> Result<String> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io_error)?.len();
    if len > MAX_CONFIG_BYTES {
        return Err(Error::LimitExceeded {
            what: "configuration file size",
            found: len,
            limit: MAX_CONFIG_BYTES,
        });
    }
    std::fs::read_to_string(path).map_err(io_error)
}
