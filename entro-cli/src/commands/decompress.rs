//! `entro decompress`: a `.entro` file back to a standard safetensors file,
//! quantized tensors dequantized and kept tensors exactly as they were.

use anyhow::{Context as _, anyhow};
use entro_decode::{DecodeOptions, DecodedTensor, Decoder, FloatDtype, Target};
use entro_format::safetensors::{SafetensorsWriter, TensorSpec};

use crate::args::{DecompressArgs, OutputDtype};
use crate::commands::output::{check_output, refuse_overwriting_input};
use crate::format::{human_bytes, plural};
use crate::interrupt;
use crate::open;
use crate::page_release;
use crate::ui::Ui;

pub(crate) fn run(args: &DecompressArgs, ui: &Ui) -> anyhow::Result<()> {
    check_output(&args.output, args.force)?;
    refuse_overwriting_input(&args.output, [args.input.as_path()])?;
    let file = open::entro_file(&args.input)?;
    let source = args.input.display().to_string();
    let target = match args.dtype {
        OutputDtype::Original => Target::Original,
        OutputDtype::F32 => Target::Bytes(FloatDtype::F32),
        OutputDtype::F16 => Target::Bytes(FloatDtype::F16),
        OutputDtype::BF16 => Target::Bytes(FloatDtype::BF16),
    };
    let mut specs = Vec::with_capacity(file.tensors().len());
    let mut total_bytes = 0u64;
    for entry in file.tensors() {
        // Every byte-producing target keeps every tensor (only `Codes` leaves some out).
        let kind = target
            .kind_for(entry)
            .ok_or_else(|| anyhow!("{source}: tensor `{}` has no output", entry.name()))?;
        total_bytes += kind.byte_len(entry.elements()).unwrap_or(0);
        specs.push(TensorSpec {
            name: entry.name().to_owned(),
            dtype: kind.dtype(),
            shape: entry.shape().to_vec(),
        });
    }
    let decoder = Decoder::new(DecodeOptions {
        threads: args.threads,
        verify_checksums: true,
    })?;
    let mut writer =
        SafetensorsWriter::create(&args.output, specs, file.metadata().checkpoint.as_ref())?;
    let bar = ui.bytes_bar(total_bytes, "decompress");
    for (index, entry) in file.tensors().iter().enumerate() {
        interrupt::check()?;
        bar.set_message(entry.name().to_owned());
        // One tensor's output at a time: memory stays at the largest tensor.
        let mut decoded = DecodedTensor::allocate(index, entry, target)
            .map_err(|err| anyhow!("{source}: {err}"))?
            .ok_or_else(|| anyhow!("{source}: tensor `{}` has no output", entry.name()))?;
        decoder
            .decode_tensor(&file, entry, decoded.data.as_output())
            .map_err(|err| anyhow!("{source}: {err}"))?;
        let bytes = decoded.data.to_le_bytes();
        writer
            .write_tensor(entry.name(), &bytes)
            .with_context(|| format!("writing {}", args.output.display()))?;
        bar.inc(bytes.len() as u64);
        // The compressed bytes are not read again; keep the resident set at one tensor.
        if let Ok(payload) = file.payload(entry) {
            page_release::release(payload);
        }
    }
    interrupt::check()?;
    writer.finish()?;
    bar.finish_and_clear();
    ui.note(format!(
        "wrote {}: {}, {}",
        args.output.display(),
        plural(file.tensors().len(), "tensor"),
        human_bytes(total_bytes)
    ));
    Ok(())
}
