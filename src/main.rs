//! flinkgen's command line: parses arguments and calls the library (`flinkgen::cli`).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

// A build allocates many small strings and maps per job on every thread: with mimalloc a fleet
// build takes about a third less CPU than with glibc's malloc. Its transparent-huge-page use is
// off (the `no_thp` feature): zeroing 2 MiB pages cost a one-profile build more than it saved,
// and ~25 MB of peak memory on a fleet (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let outcome = flinkgen::cli::run(flinkgen::cli::Cli::parse());
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(u8::try_from(outcome.code).unwrap_or(2))
}
