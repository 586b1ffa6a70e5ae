//! Logging in nats-server's format, because client test harnesses and operators' log tooling
//! parse it: `[pid] 2006/01/02 15:04:05.000000 [INF] message` on stderr or in the `-l` file.
//!
//! Built on `tracing`: the code logs with `tracing` macros; this module supplies the formatter,
//! the level rules (`-D` enables `[DBG]`, `-V` enables `[TRC]`, independently, as in the
//! reference) and a writer that can be re-pointed on SIGUSR1 (`--signal reopen`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use time::{OffsetDateTime, UtcOffset};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Logging settings (from options).
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    pub debug: bool,
    pub trace: bool,
    pub logtime: bool,
    pub utc: bool,
    pub file: Option<PathBuf>,
}

struct Format {
    pid: u32,
    logtime: bool,
    offset: UtcOffset,
}

impl<S, N> FormatEvent<S, N> for Format
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(w, "[{}] ", self.pid)?;
        if self.logtime {
            let t = OffsetDateTime::now_utc().to_offset(self.offset);
            write!(
                w,
                "{:04}/{:02}/{:02} {:02}:{:02}:{:02}.{:06} ",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.microsecond()
            )?;
        }
        let label = match *event.metadata().level() {
            Level::ERROR => "[ERR]",
            Level::WARN => "[WRN]",
            Level::INFO => "[INF]",
            Level::DEBUG => "[DBG]",
            Level::TRACE => "[TRC]",
        };
        write!(w, "{label} ")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

enum Sink {
    Stderr,
    File(PathBuf, File),
}

/// The log destination; shared so it can be reopened.
#[derive(Clone)]
pub struct LogWriter(Arc<Mutex<Sink>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *g {
            Sink::Stderr => io::stderr().write(buf),
            Sink::File(_, f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *g {
            Sink::Stderr => io::stderr().flush(),
            Sink::File(_, f) => f.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static WRITER: OnceLock<LogWriter> = OnceLock::new();
static DEBUG: AtomicBool = AtomicBool::new(false);
static TRACE: AtomicBool = AtomicBool::new(false);

fn open(path: &PathBuf) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Install the global logger. Must be called before the async runtime starts threads (the local
/// UTC offset can only be read safely while the process is single-threaded).
pub fn init(cfg: &LogConfig) -> io::Result<()> {
    let offset = if cfg.utc {
        UtcOffset::UTC
    } else {
        UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC)
    };
    let sink = match &cfg.file {
        Some(p) => Sink::File(p.clone(), open(p)?),
        None => Sink::Stderr,
    };
    let writer = WRITER.get_or_init(|| LogWriter(Arc::new(Mutex::new(Sink::Stderr))));
    *writer.0.lock().unwrap_or_else(|e| e.into_inner()) = sink;
    DEBUG.store(cfg.debug, Ordering::Relaxed);
    TRACE.store(cfg.trace, Ordering::Relaxed);
    let filter = tracing_subscriber::filter::filter_fn(|m| match *m.level() {
        Level::TRACE => TRACE.load(Ordering::Relaxed),
        Level::DEBUG => DEBUG.load(Ordering::Relaxed),
        _ => true,
    });
    use tracing_subscriber::layer::SubscriberExt;
    let layer = tracing_subscriber::fmt::layer()
        .event_format(Format {
            pid: std::process::id(),
            logtime: cfg.logtime,
            offset,
        })
        .with_writer(writer.clone())
        .with_ansi(false);
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter));
    // A second init (tests starting several servers in one process) keeps the first logger.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

use tracing_subscriber::Layer as _;

/// Reopen the log file (SIGUSR1), for log rotation.
pub fn reopen() -> io::Result<()> {
    if let Some(w) = WRITER.get() {
        let mut g = w.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Sink::File(p, f) = &mut *g {
            *f = open(p)?;
        }
    }
    Ok(())
}

/// Apply reloaded logging settings: levels at once, and the file if it changed.
/// (The timestamp format is fixed at startup.)
pub fn reconfigure(cfg: &LogConfig) {
    DEBUG.store(cfg.debug, Ordering::Relaxed);
    TRACE.store(cfg.trace, Ordering::Relaxed);
    if let Some(w) = WRITER.get() {
        let mut g = w.0.lock().unwrap_or_else(|e| e.into_inner());
        let same = match (&*g, &cfg.file) {
            (Sink::File(p, _), Some(n)) => p == n,
            (Sink::Stderr, None) => true,
            _ => false,
        };
        if !same {
            match &cfg.file {
                Some(p) => match open(p) {
                    Ok(f) => *g = Sink::File(p.clone(), f),
                    Err(e) => eprintln!("nats-server: error opening log file: {e}"),
                },
                None => *g = Sink::Stderr,
            }
        }
    }
}
