//! Layer-by-layer decoding: tensors grouped by transformer block, the next group decoded in the
//! background while the caller uses the current one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use entro_format::EntroFile;

use crate::{DecodedTensor, Decoder, Error, Result, Target};

/// Name segments that introduce a block index in common checkpoint layouts
/// (`model.layers.3.`, `transformer.h.3.`, `encoder.layer.3.`, `blocks.3.`).
const LAYER_SEGMENTS: [&str; 4] = ["layers", "h", "layer", "blocks"];

/// A group of tensors decoded together: one transformer block, or one tensor outside the blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerGroup {
    /// The common name prefix (`model.layers.3`), or the tensor's name for a tensor outside blocks.
    pub key: String,
    /// The block index, for a transformer block.
    pub layer: Option<u64>,
    /// Positions of the group's tensors in the file, in file order.
    pub tensors: Vec<usize>,
}

/// The block prefix of a tensor name (`model.layers.12` of `model.layers.12.mlp.up_proj.weight`)
/// and its index, if the name has one.
#[must_use]
pub fn layer_prefix(name: &str) -> Option<(&str, u64)> {
    let mut offset = 0;
    let mut segments = name.split('.').peekable();
    while let Some(segment) = segments.next() {
        offset += segment.len() + 1;
        let index = segments.peek().and_then(|next| {
            let all_digits = !next.is_empty() && next.bytes().all(|b| b.is_ascii_digit());
            all_digits.then(|| next.parse::<u64>().ok()).flatten()
        });
        if let Some(index) = index
            && LAYER_SEGMENTS.contains(&segment)
        {
            let digits = segments.peek().map_or(0, |next| next.len());
            return Some((&name[..offset + digits], index));
        }
    }
    None
}

/// Groups the tensors of `file` by transformer block ([`layer_prefix`]); every tensor outside the
/// blocks is a group of its own. Groups come in the order of their first tensor in the file.
#[must_use]
pub fn layer_groups(file: &EntroFile) -> Vec<LayerGroup> {
    let mut groups: Vec<LayerGroup> = Vec::new();
    let mut by_key = std::collections::HashMap::new();
    for (index, entry) in file.tensors().iter().enumerate() {
        match layer_prefix(entry.name()) {
            Some((prefix, layer)) => {
                let slot = *by_key.entry(prefix.to_owned()).or_insert_with(|| {
                    groups.push(LayerGroup {
                        key: prefix.to_owned(),
                        layer: Some(layer),
                        tensors: Vec::new(),
                    });
                    groups.len() - 1
                });
                if let Some(group) = groups.get_mut(slot) {
                    group.tensors.push(index);
                }
            }
            None => groups.push(LayerGroup {
                key: entry.name().to_owned(),
                layer: None,
                tensors: vec![index],
            }),
        }
    }
    groups
}

/// One decoded group.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedLayer {
    /// The group's key (see [`LayerGroup::key`]).
    pub key: String,
    /// The block index, for a transformer block.
    pub layer: Option<u64>,
    /// The decoded tensors, in file order (tensors the target leaves out are absent).
    pub tensors: Vec<DecodedTensor>,
}

/// Iterator over the decoded groups of a file ([`Decoder::layers`]).
///
/// A background thread decodes the next group on the decoder's pool while the caller holds the
/// current one, and then waits until the caller asks for it: at most the group being decoded and
/// the group last returned exist at a time (plus any the caller keeps). The first error ends the
/// iteration. Dropping the iterator stops the background thread after its current group.
#[derive(Debug)]
pub struct LayerIter {
    groups: Vec<LayerGroup>,
    receiver: Option<Receiver<Result<DecodedLayer>>>,
    cancel: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl LayerIter {
    pub(crate) fn start(decoder: &Decoder, file: Arc<EntroFile>, target: Target) -> Result<Self> {
        let groups: Vec<LayerGroup> = layer_groups(&file)
            .into_iter()
            .filter_map(|mut group| {
                let entries = file.tensors();
                group
                    .tensors
                    .retain(|&i| entries.get(i).is_some_and(|e| target.kind_for(e).is_some()));
                (!group.tensors.is_empty()).then_some(group)
            })
            .collect();
        // A rendezvous channel: the worker hands over a group only when the caller asks, so it
        // never runs more than one group ahead.
        let (sender, receiver) = sync_channel(0);
        let cancel = Arc::new(AtomicBool::new(false));
        let worker = {
            let (decoder, groups, cancel) = (decoder.clone(), groups.clone(), Arc::clone(&cancel));
            std::thread::Builder::new()
                .name("entro-prefetch".to_owned())
                .spawn(move || prefetch(&decoder, &file, target, &groups, &cancel, &sender))
                .map_err(|source| Error::Spawn { source })?
        };
        Ok(Self {
            groups,
            receiver: Some(receiver),
            cancel,
            worker: Some(worker),
        })
    }

    /// The groups this iterator yields, in order (groups the target leaves empty are skipped).
    #[must_use]
    pub fn groups(&self) -> &[LayerGroup] {
        &self.groups
    }
}

fn prefetch(
    decoder: &Decoder,
    file: &EntroFile,
    target: Target,
    groups: &[LayerGroup],
    cancel: &AtomicBool,
    sender: &SyncSender<Result<DecodedLayer>>,
) {
    for group in groups {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let decoded = decoder
            .decode_selected(file, &group.tensors, target)
            .map(|tensors| DecodedLayer {
                key: group.key.clone(),
                layer: group.layer,
                tensors,
            });
        let failed = decoded.is_err();
        if sender.send(decoded).is_err() || failed {
            return;
        }
    }
}

impl Iterator for LayerIter {
    type Item = Result<DecodedLayer>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.receiver.as_ref()?.recv().ok();
        match &item {
            Some(Ok(_)) => {}
            // An error or the end: nothing more will come.
            _ => self.receiver = None,
        }
        item
    }
}

impl Drop for LayerIter {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        // Dropping the receiver makes a pending hand-over fail, so the worker cannot block forever.
        self.receiver = None;
        if let Some(worker) = self.worker.take() {
            // A panic in the worker has already been reported on its thread; nothing to add here.
            let _ = worker.join();
        }
    }
}

impl Decoder {
    /// Iterates over the decoded groups of `file` (see [`layer_groups`]) under `target`, decoding
    /// the next group in the background.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] if the background thread cannot be started; decoding errors come from the
    /// iterator.
    pub fn layers(&self, file: Arc<EntroFile>, target: Target) -> Result<LayerIter> {
        LayerIter::start(self, file, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_common_layouts() {
        assert_eq!(
            layer_prefix("model.layers.12.mlp.up_proj.weight"),
            Some(("model.layers.12", 12))
        );
        assert_eq!(
            layer_prefix("transformer.h.3.attn.c_attn.weight"),
            Some(("transformer.h.3", 3))
        );
        assert_eq!(
            layer_prefix("encoder.layer.0.output.dense.bias"),
            Some(("encoder.layer.0", 0))
        );
        assert_eq!(layer_prefix("blocks.7.norm"), Some(("blocks.7", 7)));
        assert_eq!(layer_prefix("model.layers.4"), Some(("model.layers.4", 4)));
        assert_eq!(layer_prefix("model.embed_tokens.weight"), None);
        assert_eq!(layer_prefix("model.layers.x.weight"), None);
        assert_eq!(layer_prefix("model.layers."), None);
        assert_eq!(layer_prefix("layers"), None);
        assert_eq!(layer_prefix("h.99999999999999999999999.w"), None);
        assert_eq!(layer_prefix(""), None);
    }
}
