//! `rnats`: the tool for people. `rnats explain` says offline why a credential would be
//! accepted or rejected by a server; `rnats bench` measures servers (see `rnats::bench`).

use clap::{Parser, Subcommand};
use rnats::explain::{Request, explain, parse_at};
use std::path::PathBuf;
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

#[derive(clap::Args)]
struct ExplainArgs {
    /// The server's configuration file.
    #[arg(long, short = 'c')]
    config: PathBuf,
    /// A .creds file (user JWT and seed).
    #[arg(long)]
    creds: Option<PathBuf>,
    /// A file holding the user JWT (raw or decorated); overrides the creds' JWT.
    #[arg(long)]
    jwt: Option<PathBuf>,
    /// A file holding the user's nkey seed (SU…).
    #[arg(long)]
    nkey_seed: Option<PathBuf>,
    /// Judge at this instant (RFC 3339) instead of this machine's clock.
    #[arg(long)]
    at: Option<String>,
    /// The client's address, for `src` restrictions.
    #[arg(long, default_value = "127.0.0.1")]
    src: std::net::IpAddr,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl ExplainArgs {
    fn request(&self) -> Result<Request, String> {
        Ok(Request {
            config: self.config.clone(),
            creds: self.creds.clone(),
            jwt: self.jwt.clone(),
            nkey_seed: self.nkey_seed.clone(),
            at: self.at.as_deref().map(parse_at).transpose()?,
            src: self.src,
        })
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Explain offline why a credential would be accepted or rejected by a server.
    /// Exit status: 0 accepted, 1 rejected, 2 bad input.
    Explain(ExplainArgs),
    /// Benchmark a NATS server, or compare two server binaries side by side.
    Bench(rnats::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.cmd {
        Cmd::Explain(args) => {
            let req = match args.request() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("rnats explain: {e}");
                    return ExitCode::from(2);
                }
            };
            match explain(&req) {
                Ok(r) => {
                    if args.json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".into())
                        );
                    } else {
                        print!("{}", r.render());
                    }
                    ExitCode::from(if r.accepted { 0 } else { 1 })
                }
                Err(e) => {
                    eprintln!("rnats explain: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Bench(args) => rnats::bench::main(args),
    }
}
