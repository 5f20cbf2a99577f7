//! One module per subcommand; `dispatch` validates the raw flags and runs one.

pub(crate) mod bench;
pub(crate) mod compress;
pub(crate) mod decompress;
pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod inspect;
pub(crate) mod output;
pub(crate) mod synth;
pub(crate) mod verify;

use std::io::Write;

use crate::args::{
    BenchArgs, CompressArgs, DecompressArgs, DemoArgs, InspectArgs, SynthArgs, VerifyArgs,
};
use crate::cli::Command;
use crate::ui::Ui;

pub(crate) fn dispatch(command: Command, ui: &Ui, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        Command::Compress(flags) => {
            compress::run(&CompressArgs::new(flags)?, ui)?;
        }
        Command::Decompress(flags) => {
            decompress::run(&DecompressArgs::new(flags)?, ui)?;
        }
        Command::Inspect(flags) => inspect::run(&InspectArgs::new(flags), out)?,
        Command::Verify(flags) => verify::run(&VerifyArgs::new(flags)?, ui, out)?,
        Command::Bench(flags) => bench::run(&BenchArgs::new(flags)?, ui, out)?,
        Command::Demo(flags) => demo::run(&DemoArgs::new(flags)?, ui, out)?,
        Command::Synth(flags) => synth::run(&SynthArgs::new(flags)?, ui)?,
        Command::Eval(flags) => eval::run(&flags, ui, out)?,
    }
    Ok(())
}
