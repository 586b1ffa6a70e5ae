//! `rnats`: the tool for people. `rnats explain` (why a credential would be rejected) and
//! `rnats bench` (side-by-side benchmarks) arrive with their issues; until then they say so.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rnats",
    version,
    about = "The rnats tool: explain credentials, benchmark servers"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Explain offline why a credential would be accepted or rejected (not implemented yet).
    Explain,
    /// Benchmark rnats-server against nats-server (not implemented yet).
    Bench,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let what = match cli.cmd {
        Cmd::Explain => "explain",
        Cmd::Bench => "bench",
    };
    eprintln!("rnats {what}: not implemented yet");
    ExitCode::from(2)
}
