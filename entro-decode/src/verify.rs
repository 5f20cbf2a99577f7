//! Checking a whole file: every checksum, and that every chunk decodes, without keeping the output.

use entro_format::EntroFile;
use rayon::prelude::*;

use crate::plan::{Sink, Slot, Source};
use crate::run::{check_chunk, raw_bytes};
use crate::{Decoder, Error};

/// What [`Decoder::verify`] found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Tensors in the file.
    pub tensors: usize,
    /// Chunks of quantized and lossless tensors checked (checksum and decoding).
    pub chunks: u64,
    /// Elements covered by the checks that passed.
    pub elements: u64,
    /// Every problem found, in file order (tensor, then chunk).
    pub failures: Vec<Error>,
}

impl VerifyReport {
    /// Whether the file is intact.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Decoder {
    /// Checks every checksum of `file` and decodes every chunk (into per-thread scratch space, so
    /// memory stays small), going on after failures to report all of them. Checksums are always
    /// checked here, whatever [`crate::DecodeOptions::verify_checksums`] says.
    #[must_use]
    pub fn verify(&self, file: &EntroFile) -> VerifyReport {
        self.verify_with_progress(file, &|_| {})
    }

    /// [`Decoder::verify`], calling `progress(n)` each time `n` more elements are checked.
    #[must_use]
    pub fn verify_with_progress(
        &self,
        file: &EntroFile,
        progress: &(dyn Fn(u64) + Sync),
    ) -> VerifyReport {
        let tensors = file.tensors();
        self.pool().install(|| {
            let slots: Vec<_> = tensors
                .par_iter()
                .map(|entry| Slot::prepare(entry, &Sink::Codes(&mut [])))
                .collect();
            // (tensor, chunk) pairs of the tensors that could be prepared; raw tensors are one
            // job with chunk 0.
            let jobs: Vec<(usize, usize)> = slots
                .iter()
                .enumerate()
                .flat_map(|(index, slot)| {
                    let chunks = match slot {
                        Ok(Slot {
                            source: Source::Raw { .. },
                            ..
                        }) => 1,
                        Ok(slot) => slot.entry.chunks().len(),
                        Err(_) => 0,
                    };
                    (0..chunks).map(move |chunk| (index, chunk))
                })
                .collect();
            let results: Vec<(usize, usize, Result<u64, Error>)> = jobs
                .into_par_iter()
                .map_init(Vec::new, |scratch, (index, chunk)| {
                    let result = match &slots[index] {
                        Ok(
                            slot @ Slot {
                                source: Source::Raw { .. },
                                ..
                            },
                        ) => raw_bytes(file, slot.entry, true).map(|_| slot.entry.elements()),
                        Ok(slot) => check_chunk(file, slot, chunk, scratch),
                        Err(_) => Ok(0),
                    };
                    if let Ok(elements) = &result {
                        progress(*elements);
                    }
                    (index, chunk, result)
                })
                .collect();
            let mut report = VerifyReport {
                tensors: tensors.len(),
                ..VerifyReport::default()
            };
            let mut failures: Vec<((usize, usize), Error)> = Vec::new();
            for (index, slot) in slots.into_iter().enumerate() {
                if let Err(err) = slot {
                    failures.push(((index, 0), err));
                }
            }
            for (index, chunk, result) in results {
                let chunked = tensors.get(index).is_some_and(|e| !e.chunks().is_empty());
                report.chunks += u64::from(chunked);
                match result {
                    Ok(elements) => report.elements += elements,
                    Err(err) => failures.push(((index, chunk), err)),
                }
            }
            failures.sort_by_key(|&(key, _)| key);
            report.failures = failures.into_iter().map(|(_, err)| err).collect();
            report
        })
    }
}
