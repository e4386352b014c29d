//! The `crawlhost` binary: parse arguments, set up logging, hand over to the
//! library.

use std::process::ExitCode;

use clap::Parser;
use crawlhost::cli::{Cli, LogFormat, execute};
use tracing_subscriber::EnvFilter;

/// Exit status of a process that lost its reader: 128 + SIGPIPE, what a
/// shell reports for `yes | head`.
const BROKEN_PIPE_STATUS: i32 = 141;

/// `crawlhost ... | head` closes standard output early, and `print!` then
/// panics with "failed printing to stdout: Broken pipe". Exit quietly with
/// [`BROKEN_PIPE_STATUS`] instead, as shell tools do. SIGPIPE itself stays
/// ignored (Rust's default), so a closed socket or a dead child's pipe is an
/// error the code handles, not the end of the process.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    crawlhost::malloc_tuning::tune();
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|e| {
        eprintln!("warning: bad log filter `{}` ({e}); using `warn`", cli.log);
        EnvFilter::new("warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
