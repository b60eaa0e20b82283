//! flinkgen's command line: parses arguments and calls the library (`flinkgen::cli`).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

// A build allocates many small strings and maps per job on every thread; mimalloc spends about
// a third of the instructions glibc's malloc does on them (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let outcome = flinkgen::cli::run(flinkgen::cli::Cli::parse());
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(u8::try_from(outcome.code).unwrap_or(2))
}
