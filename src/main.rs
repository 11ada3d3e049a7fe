//! The `seisreduce` command line. Argument parsing only; the work is in the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use seisreduce::inspect::{self, FileOutcome};

#[derive(Parser)]
#[command(
    name = "seisreduce",
    version,
    about = "Streaming reduction of seismic and DAS data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise miniSEED files (v2 and v3): traces, gaps and overlaps, errors.
    Inspect {
        /// Files or directories (searched recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// One JSON object keyed by file name instead of a table.
        #[arg(long)]
        json: bool,
        /// List every record instead of the assembled traces.
        #[arg(long)]
        records: bool,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seisreduce: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect {
            paths,
            json,
            records,
        } => {
            let files = inspect::expand_paths(&paths);
            let mut failed = false;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if json {
                let mut obj = serde_json::Map::new();
                for f in &files {
                    let v = if records {
                        inspect::records_json(f)
                    } else {
                        inspect::traces_json(f, &inspect::read_file(f))
                    };
                    failed |= v.get("error").is_some();
                    obj.insert(f.display().to_string(), v);
                }
                serde_json::to_writer_pretty(&mut out, &serde_json::Value::Object(obj))
                    .context("writing JSON to stdout")?;
                writeln!(out)?;
            } else if records {
                for f in &files {
                    let v = inspect::records_json(f);
                    failed |= v.get("error").is_some();
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                }
            } else {
                for f in &files {
                    let outcome = inspect::read_file(f);
                    failed |= matches!(outcome, FileOutcome::Error(_));
                    write!(out, "{}", inspect::table(f, &outcome))?;
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
