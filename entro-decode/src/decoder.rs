//! The [`Decoder`]: a thread pool and the scheduler that spreads chunks of many tensors over it.

use std::sync::Arc;

use entro_format::{EntroFile, TensorEntry};
use rayon::prelude::*;

use crate::plan::{Sink, Slot, check_entry, jobs_of};
use crate::run::run_job;
use crate::{DecodedTensor, Error, Output, Result, Target};

/// Settings of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Worker threads; 0 means the machine's available parallelism.
    pub threads: usize,
    /// Check each chunk's (and raw payload's) CRC-32C before decoding it. On by default; turn it off
    /// only to measure the decoder alone.
    pub verify_checksums: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            verify_checksums: true,
        }
    }
}

/// A tensor of a file and the caller's buffer for it.
#[derive(Debug)]
pub struct TensorOutput<'a> {
    /// The tensor, as the file being decoded lists it.
    pub tensor: &'a TensorEntry,
    /// Where its decoded values go.
    pub output: Output<'a>,
}

/// Decodes `.entro` files on its own pool of worker threads.
///
/// All chunks of all requested tensors form one list of jobs (largest first) that the pool works
/// through, so small tensors never leave threads idle behind a barrier. Each job writes into its own
/// disjoint piece of the caller's buffer, so the output does not depend on the thread count or on
/// the order in which jobs finish. Cloning a decoder shares its pool.
#[derive(Debug, Clone)]
pub struct Decoder {
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    verify_checksums: bool,
}

impl Decoder {
    /// Starts a decoder with `options.threads` worker threads.
    ///
    /// # Errors
    ///
    /// [`Error::ThreadPool`] if the threads cannot be started.
    pub fn new(options: DecodeOptions) -> Result<Self> {
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|index| format!("entro-decode-{index}"))
            .build()
            .map_err(|source| Error::ThreadPool { threads, source })?;
        Ok(Self {
            pool: Arc::new(pool),
            threads,
            verify_checksums: options.verify_checksums,
        })
    }

    /// Number of worker threads.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The options in effect (with the thread count resolved).
    #[must_use]
    pub fn options(&self) -> DecodeOptions {
        DecodeOptions {
            threads: self.threads,
            verify_checksums: self.verify_checksums,
        }
    }

    /// Decodes one tensor into `output`, its chunks in parallel.
    ///
    /// # Errors
    ///
    /// As [`Decoder::decode_into`].
    pub fn decode_tensor(
        &self,
        file: &EntroFile,
        tensor: &TensorEntry,
        output: Output<'_>,
    ) -> Result<()> {
        self.decode_into(file, vec![TensorOutput { tensor, output }])
    }

    /// Decodes several tensors of `file` into the caller's buffers, all of their chunks on the pool.
    ///
    /// Every buffer is checked before any work starts. When a chunk fails, every other chunk is still
    /// decoded, so the other tensors' buffers (and the failing tensor's other chunks) hold their
    /// correct values; the error returned is the one of the first failing chunk in request order,
    /// the same for every thread count.
    ///
    /// # Errors
    ///
    /// Caller misuse: [`Error::ForeignTensor`], [`Error::UnsupportedConversion`],
    /// [`Error::OutputSize`], [`Error::TooLarge`]. Damaged files: [`Error::ChecksumMismatch`],
    /// [`Error::RawChecksumMismatch`], [`Error::Corrupt`], [`Error::LosslessCorrupt`],
    /// [`Error::CodebookOutOfRange`],
    /// [`Error::Params`], [`Error::BadBlock`], [`Error::ChunkCoverage`], [`Error::Implausible`].
    pub fn decode_into(&self, file: &EntroFile, outputs: Vec<TensorOutput<'_>>) -> Result<()> {
        self.run(file, outputs, None)
    }

    /// [`Decoder::decode_into`], calling `progress(n)` from the worker threads each time `n` more
    /// elements are done (for progress bars; the calls add up to the requested element count).
    ///
    /// # Errors
    ///
    /// As [`Decoder::decode_into`].
    pub fn decode_into_with_progress(
        &self,
        file: &EntroFile,
        outputs: Vec<TensorOutput<'_>>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<()> {
        self.run(file, outputs, Some(progress))
    }

    /// Decodes every tensor of `file` that `target` keeps (see [`Target::kind_for`]) into new
    /// buffers, in file order.
    ///
    /// # Errors
    ///
    /// As [`Decoder::decode_into`].
    pub fn decode_model(&self, file: &EntroFile, target: Target) -> Result<Vec<DecodedTensor>> {
        let all: Vec<usize> = (0..file.tensors().len()).collect();
        self.decode_selected(file, &all, target)
    }

    /// Decodes the tensors at `indices` (positions in [`EntroFile::tensors`]) that `target` keeps
    /// into new buffers, in the order given.
    ///
    /// # Errors
    ///
    /// [`Error::ForeignTensor`] for an index past the last tensor; as [`Decoder::decode_into`].
    pub fn decode_selected(
        &self,
        file: &EntroFile,
        indices: &[usize],
        target: Target,
    ) -> Result<Vec<DecodedTensor>> {
        let mut decoded = Vec::with_capacity(indices.len());
        for &index in indices {
            let entry = file
                .tensors()
                .get(index)
                .ok_or_else(|| Error::ForeignTensor {
                    tensor: format!("#{index}"),
                })?;
            decoded.extend(DecodedTensor::allocate(index, entry, target)?);
        }
        self.decode_buffers(file, &mut decoded)?;
        Ok(decoded)
    }

    /// Decodes into buffers made by [`DecodedTensor::allocate`] (or an earlier decode), for
    /// example to decode the same file again without allocating.
    ///
    /// # Errors
    ///
    /// [`Error::ForeignTensor`] when a buffer's index and name do not match a tensor of `file`;
    /// as [`Decoder::decode_into`].
    pub fn decode_buffers(&self, file: &EntroFile, tensors: &mut [DecodedTensor]) -> Result<()> {
        let outputs = tensors
            .iter_mut()
            .map(|decoded| {
                let tensor = file
                    .tensors()
                    .get(decoded.index)
                    .filter(|entry| entry.name() == decoded.name)
                    .ok_or_else(|| Error::ForeignTensor {
                        tensor: decoded.name.clone(),
                    })?;
                Ok(TensorOutput {
                    tensor,
                    output: decoded.data.as_output(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.decode_into(file, outputs)
    }

    pub(crate) fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    fn run(
        &self,
        file: &EntroFile,
        outputs: Vec<TensorOutput<'_>>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Result<()> {
        let mut entries = Vec::with_capacity(outputs.len());
        let mut sinks = Vec::with_capacity(outputs.len());
        for TensorOutput { tensor, output } in outputs {
            check_entry(file, tensor)?;
            sinks.push(Sink::new(tensor, output)?);
            entries.push(tensor);
        }
        let verify = self.verify_checksums;
        self.pool.install(|| {
            // Decode tables cost tens of microseconds each: build them in parallel too.
            let slots = entries
                .par_iter()
                .zip(sinks.par_iter())
                .map(|(entry, sink)| Slot::prepare(entry, sink))
                .collect::<Result<Vec<_>>>()?;
            let mut jobs = Vec::new();
            for (index, (slot, sink)) in slots.iter().zip(sinks).enumerate() {
                jobs.extend(jobs_of(index, slot, sink)?);
            }
            // Largest first, so that a big raw tensor does not start last and run alone.
            jobs.sort_by_key(|job| std::cmp::Reverse(job.elements));
            let first_error = jobs
                .into_par_iter()
                .map_init(Vec::new, |scratch, job| {
                    let (slot, chunk, elements) = (job.slot, job.chunk, job.elements);
                    let result = run_job(file, &slots[slot], job, verify, scratch);
                    if let Some(progress) = progress {
                        progress(elements);
                    }
                    result.err().map(|err| (slot, chunk, err))
                })
                .flatten()
                .min_by_key(|&(slot, chunk, _)| (slot, chunk));
            first_error.map_or(Ok(()), |(_, _, err)| Err(err))
        })
    }
}
