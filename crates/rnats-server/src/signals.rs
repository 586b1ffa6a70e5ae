//! Signals (nats-server `signal.go`): SIGINT and SIGTERM shut down (SIGTERM is ignored in lame
//! duck mode), SIGHUP reloads the configuration, SIGUSR1 reopens the log file, SIGUSR2 enters
//! lame duck mode. `--signal <cmd>[=<pid|pidfile>]` sends one of them to a running server.

use crate::server::Server;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};

/// Handle signals until the server has shut down.
pub async fn run(server: Arc<Server>) -> std::io::Result<()> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut shutdown = server.shutdown_signal();
    loop {
        tokio::select! {
            _ = int.recv() => {
                tracing::info!("Trapped \"interrupt\" signal");
                server.shutdown().await;
                return Ok(());
            }
            _ = term.recv() => {
                if server.is_lame_duck() {
                    continue;
                }
                tracing::info!("Trapped \"terminated\" signal");
                server.shutdown().await;
                return Ok(());
            }
            _ = hup.recv() => {
                tracing::info!("Trapped \"hangup\" signal");
                crate::config::reload(&server);
            }
            _ = usr1.recv() => {
                tracing::info!("Trapped \"user defined signal 1\" signal");
                if let Err(e) = crate::logging::reopen() {
                    tracing::error!("Error reopening log file: {e}");
                }
            }
            _ = usr2.recv() => {
                let s = server.clone();
                tokio::spawn(async move { s.lame_duck_mode().await });
            }
            _ = shutdown.changed() => {
                if server.is_shutdown() {
                    return Ok(());
                }
            }
        }
    }
}

/// Why `--signal` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    #[error("unknown signal \"{0}\"")]
    Unknown(String),
    #[error("invalid pid: {0}")]
    BadPid(String),
    #[error("no {0} processes running")]
    NoProcess(String),
    #[error("multiple {0} processes running:\n{1}")]
    Multiple(String, String),
    #[error("{0}")]
    Kill(#[from] nix::Error),
}

fn find_pids(exe: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            if let Ok(comm) = std::fs::read_to_string(e.path().join("comm"))
                && comm.trim() == exe
            {
                pids.push(pid);
            }
        }
    }
    pids
}

/// `--signal cmd[=pid|pidfile]`.
pub fn send(arg: &str) -> Result<(), SignalError> {
    let (cmd, target) = match arg.split_once('=') {
        Some((c, t)) => (c, Some(t)),
        None => (arg, None),
    };
    let sig = match cmd {
        "stop" => Signal::SIGKILL,
        "quit" => Signal::SIGINT,
        "term" => Signal::SIGTERM,
        "reopen" => Signal::SIGUSR1,
        "reload" => Signal::SIGHUP,
        "ldm" => Signal::SIGUSR2,
        other => return Err(SignalError::Unknown(other.to_string())),
    };
    let pid = match target {
        Some(t) => match t.parse::<i32>() {
            Ok(p) => p,
            Err(_) => std::fs::read_to_string(t)
                .map_err(|_| SignalError::BadPid(t.to_string()))?
                .trim()
                .parse::<i32>()
                .map_err(|_| SignalError::BadPid(t.to_string()))?,
        },
        None => {
            let exe = std::env::current_exe()
                .ok()
                .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "rnats-server".into());
            let pids = find_pids(&exe);
            match pids.as_slice() {
                [] => return Err(SignalError::NoProcess(exe)),
                [p] => *p,
                many => {
                    let list: Vec<String> = many.iter().map(|p| p.to_string()).collect();
                    return Err(SignalError::Multiple(exe, list.join("\n")));
                }
            }
        }
    };
    kill(Pid::from_raw(pid), sig)?;
    Ok(())
}
