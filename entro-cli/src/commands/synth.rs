//! `entro synth`: the demo's synthetic checkpoint as a file, for benchmarks
//! and memory checks on models of any size without a download.

use entro_format::synthetic::write_safetensors;

use crate::args::SynthArgs;
use crate::commands::demo::synthetic_model;
use crate::commands::output::check_output;
use crate::format::{human_bytes, human_count};
use crate::ui::Ui;

pub(crate) fn run(args: &SynthArgs, ui: &Ui) -> anyhow::Result<()> {
    check_output(&args.output, args.force)?;
    let model = synthetic_model(args.params, args.seed);
    write_safetensors(&model, &args.output)?;
    let params = model.param_count();
    ui.note(format!(
        "wrote {}: synthetic llama, {} layers, {} parameters, {} of BF16",
        args.output.display(),
        model.layers,
        human_count(params),
        human_bytes(params * 2)
    ));
    Ok(())
}
