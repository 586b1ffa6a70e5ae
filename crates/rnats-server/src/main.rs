//! `rnats-server`: parse nats-server's flags, load the config, run.

use rnats_server::cli::Cli;
use rnats_server::logging::{self, LogConfig};
use rnats_server::{Options, Server, config, defaults};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread allocates: glibc keeps what busy traffic reuses (see memtrim).
    // SAFETY: the first thing the process does; no other thread exists yet.
    #[allow(unsafe_code)]
    unsafe {
        rnats_server::memtrim::tune();
    }
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            };
        }
    };
    if cli.version {
        println!(
            "nats-server: v{} (rnats {})",
            defaults::NATS_VERSION,
            defaults::RNATS_VERSION
        );
        return ExitCode::SUCCESS;
    }
    if let Some(sig) = &cli.signal {
        return match rnats_server::signals::send(sig) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nats-server: {e}");
                ExitCode::from(1)
            }
        };
    }
    let refused = cli.refused();
    if !refused.is_empty() {
        eprintln!(
            "nats-server: not supported yet: {} (rnats refuses to start rather than run without it)",
            refused.join(", ")
        );
        return ExitCode::from(1);
    }
    let mut opts = Options::default();
    // With -t the reference fails on warnings too; rnats' own "not supported yet" notices do not.
    let mut test_failed = false;
    if let Some(path) = &cli.config {
        match config::load_file(path, &mut opts) {
            Ok(warnings) => {
                let (ours, reference): (Vec<_>, Vec<_>) = warnings
                    .into_iter()
                    .partition(|w| config::is_rnats_notice(w));
                for w in ours {
                    eprintln!("nats-server: {w}");
                }
                if cli.test_config == Some(true) && !reference.is_empty() {
                    // -t fails on the reference's own warnings, printed like errors.
                    test_failed = true;
                    eprint!("nats-server: {}\n\n", reference.join("\n"));
                } else {
                    // Printed before the logger starts, without a prefix, as the reference does.
                    for w in reference {
                        eprintln!("{w}");
                    }
                }
            }
            Err(config::ConfigError::Invalid(errs)) => {
                // The reference lists every error, then a blank line.
                eprint!("nats-server: {}\n\n", errs.join("\n"));
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("nats-server: {e}");
                return ExitCode::from(1);
            }
        }
    }
    cli.apply(&mut opts);
    if cli.test_config == Some(true) {
        // Like the reference, -t checks the file and the options, not the startup validation.
        return match (&cli.config, Ok::<(), rnats_server::opts::OptionsError>(())) {
            (Some(_), Ok(())) if test_failed => ExitCode::from(1),
            (Some(path), Ok(())) => {
                // On stderr, as the reference prints it.
                eprintln!(
                    "nats-server: configuration file {} is valid ({})",
                    path.display(),
                    config::digest(path)
                );
                ExitCode::SUCCESS
            }
            (None, _) => {
                eprintln!(
                    "nats-server: must specify [-c, --config] option to check configuration file syntax"
                );
                ExitCode::from(1)
            }
            (_, Err(e)) => {
                eprintln!("nats-server: {e}");
                ExitCode::from(1)
            }
        };
    }
    let log = LogConfig {
        debug: opts.debug,
        trace: opts.trace,
        logtime: opts.logtime,
        utc: opts.logtime_utc,
        file: opts.log_file.clone(),
    };
    if let Err(e) = logging::init(&log) {
        eprintln!("nats-server: error opening log file: {e}");
        return ExitCode::from(1);
    }
    for u in cli.unsupported() {
        tracing::warn!("not supported yet, ignored: {u}");
    }
    let cli = std::sync::Arc::new(cli);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nats-server: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let overrides = rnats_server::server::Overrides(Box::new(move |o| cli.apply(o)));
        let server = match Server::start_with(opts, Some(overrides)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("nats-server: {e}");
                return ExitCode::from(1);
            }
        };
        if let Err(e) = rnats_server::signals::run(server.clone()).await {
            tracing::error!("signal handling failed: {e}");
            let mut rx = server.shutdown_signal();
            let _ = rx.changed().await;
        }
        ExitCode::SUCCESS
    })
}
