//! The `seisreduce` command line. Argument parsing only; the work is in the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use seisreduce::formats::das::is_das;
use seisreduce::formats::mseed::Encoding;
use seisreduce::inspect::{self, FileOutcome};
use seisreduce::pipeline::runtime::RunOptions;
use seisreduce::pipeline::Pipeline;
use seisreduce::settings::Settings;
use seisreduce::synthetic::file::{synth_file, SynthSpec};

mod run;

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
        #[arg(required_unless_present = "formats")]
        paths: Vec<PathBuf>,
        /// List the file layouts read (miniSEED and every DAS layout) and exit.
        #[arg(long)]
        formats: bool,
        /// One JSON object keyed by file name instead of a table.
        #[arg(long)]
        json: bool,
        /// List every record instead of the assembled traces.
        #[arg(long)]
        records: bool,
    },
    /// Write a synthetic multi-channel miniSEED file (realistic noise, events), for demos
    /// and benchmarks.
    Synth(SynthArgs),
    /// Validate a pipeline file (and the settings) without running anything.
    Check {
        pipeline: PathBuf,
        /// Check the local files of these stages only (comma-separated).
        #[arg(long, value_delimiter = ',')]
        stages: Option<Vec<String>>,
        /// Deployment settings (TOML); default: $SEISREDUCE_CONFIG, else built-in defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a pipeline: all its stages, or only those named with --stages (Kafka bus).
    Run {
        pipeline: PathBuf,
        /// Comma-separated stage names to run in this process.
        #[arg(long, value_delimiter = ',')]
        stages: Option<Vec<String>>,
        /// Deployment settings (TOML); default: $SEISREDUCE_CONFIG, else built-in defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Seconds to wait for the Kafka broker at start.
        #[arg(long, default_value_t = 60)]
        broker_wait: u64,
        /// Log warnings and errors only, and no closing summary.
        #[arg(long, short)]
        quiet: bool,
        /// `human` or `json` (overrides the settings' log.format).
        #[arg(long, value_parser = ["human", "json"])]
        log_format: Option<String>,
    },
    /// Talk to a SeedLink server.
    Seedlink {
        #[command(subcommand)]
        command: SeedlinkCommand,
    },
    /// Station metadata from StationXML files, folders or FDSN station query URLs: one line
    /// per channel epoch (coordinates, rate, sensitivity, stages), and what was left out.
    Stations {
        #[arg(required = true)]
        sources: Vec<String>,
        /// JSON (every stage of every response) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A channel's instrument response on an FFT grid, evaluated as ObsPy's
    /// `Response.get_evalresp_response` evaluates it: frequency, amplitude, phase.
    Response {
        /// StationXML files, folders or FDSN station query URLs.
        #[arg(required = true)]
        sources: Vec<String>,
        /// NET.STA.LOC.CHA
        #[arg(long)]
        channel: String,
        /// The time whose epoch answers (ISO 8601; default: now).
        #[arg(long)]
        time: Option<String>,
        /// DISP, VEL, ACC or DEF (the chain's own input units).
        #[arg(long, default_value = "VEL")]
        output: String,
        /// nfft/2+1 frequencies from 0 Hz to the Nyquist frequency of --t-samp.
        #[arg(long, default_value_t = 4096)]
        nfft: usize,
        /// Sample interval in seconds (default: the channel's).
        #[arg(long)]
        t_samp: Option<f64>,
        /// JSON (complex values) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the stage types a pipeline file may use (`--markdown`: the table in
    /// pipelines/README.md).
    Types {
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand)]
enum SeedlinkCommand {
    /// What a server says about itself: id, capabilities, stations, streams, connections.
    Info {
        /// `host:port`.
        server: String,
        #[arg(long, default_value = "id", value_parser = ["id", "capabilities", "formats", "stations", "streams", "connections"])]
        level: String,
        /// The reply as JSON (v3 XML is turned into the v4 shape for stations and streams).
        #[arg(long)]
        json: bool,
        /// `auto`, `3` or `4`.
        #[arg(long, default_value = "auto", value_parser = ["auto", "3", "4"])]
        protocol: String,
        #[arg(long, default_value_t = 10.0)]
        timeout_s: f64,
    },
}

#[derive(Args)]
struct SynthArgs {
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 24)]
    channels: usize,
    /// Length in seconds.
    #[arg(long, default_value_t = 3600.0)]
    seconds: f64,
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// STEIM1, STEIM2, INT16, INT32, FLOAT32 or FLOAT64.
    #[arg(long, default_value = "STEIM2")]
    encoding: String,
    #[arg(long, default_value_t = 512)]
    record_length: usize,
    /// miniSEED format version, 2 or 3.
    #[arg(long, default_value_t = 2)]
    format_version: u8,
}

impl SynthArgs {
    fn spec(&self) -> anyhow::Result<SynthSpec> {
        let encoding = Encoding::from_name(&self.encoding)
            .with_context(|| format!("--encoding {}: not an encoding name", self.encoding))?;
        anyhow::ensure!(
            self.format_version == 2 || self.format_version == 3,
            "--format-version {}: must be 2 or 3",
            self.format_version
        );
        Ok(SynthSpec {
            channels: self.channels,
            seconds: self.seconds,
            rate: self.rate,
            encoding,
            record_length: self.record_length,
            format_version: self.format_version,
            ..Default::default()
        })
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        // A closed pipe (`seisreduce inspect ... | head`) is the reader's choice, not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seisreduce: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    seisreduce::memory::keep_freed_memory();
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect {
            paths,
            json,
            records,
            formats,
        } => {
            if formats {
                write!(std::io::stdout().lock(), "{}", inspect::formats())?;
                return Ok(ExitCode::SUCCESS);
            }
            let files = seisreduce::paths::expand_paths(&paths);
            let mut failed = false;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if json {
                let mut obj = serde_json::Map::new();
                for batch in inspect::per_file(&files, |f| {
                    if is_das(f) {
                        inspect::das::das_json(f)
                    } else if records {
                        inspect::records_json(f)
                    } else {
                        inspect::traces_json(f, &inspect::read_file(f))
                    }
                }) {
                    for (f, v) in batch {
                        failed |= v.get("error").is_some();
                        obj.insert(f.display().to_string(), v);
                    }
                }
                serde_json::to_writer_pretty(&mut out, &serde_json::Value::Object(obj))
                    .context("writing JSON to stdout")?;
                writeln!(out)?;
            } else {
                let texts = inspect::per_file(&files, |f| {
                    if records {
                        inspect::records_table(f)
                            .map_err(|msg| format!("{}: ERROR {msg}\n", f.display()))
                    } else if is_das(f) {
                        inspect::das::das_table(f).map_err(|e| format!("{e}\n"))
                    } else {
                        let outcome = inspect::read_file(f);
                        let text = inspect::table(f, &outcome);
                        match outcome {
                            FileOutcome::Error(_) => Err(text),
                            FileOutcome::Read(_) => Ok(text),
                        }
                    }
                });
                for batch in texts {
                    for (_, t) in batch {
                        failed |= t.is_err();
                        write!(out, "{}", t.unwrap_or_else(|e| e))?;
                    }
                    out.flush()?;
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Check {
            pipeline,
            stages,
            config,
        } => {
            let settings = Settings::from_process(config.as_deref())?;
            let p = Pipeline::load(&pipeline)?;
            p.check_here(stages.as_deref())?;
            writeln!(
                std::io::stdout().lock(),
                "{}",
                run::describe(&p, &settings, stages.as_deref())
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            pipeline,
            stages,
            config,
            broker_wait,
            quiet,
            log_format,
        } => {
            let mut settings = Settings::from_process(config.as_deref())?;
            if log_format.as_deref() == Some("json") {
                settings.log.format = seisreduce::settings::LogFormat::Json;
            } else if log_format.is_some() {
                settings.log.format = seisreduce::settings::LogFormat::Human;
            }
            if quiet {
                settings.log.level = "warn".into();
            }
            seisreduce::telemetry::init_logging(&settings.log);
            let p = Pipeline::load(&pipeline)?;
            p.check_here(stages.as_deref())?;
            let opts = RunOptions {
                stages,
                broker_wait: std::time::Duration::from_secs(broker_wait),
            };
            run::run_pipeline(&p, &settings, opts, run::Voice { quiet })
        }
        Command::Seedlink {
            command:
                SeedlinkCommand::Info {
                    server,
                    level,
                    json,
                    protocol,
                    timeout_s,
                },
        } => {
            let text =
                seisreduce::seedlink::client::query_info(&server, &level, &protocol, timeout_s)?;
            let mut out = std::io::stdout().lock();
            if json {
                let v = seisreduce::seedlink::info::as_json(&text);
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", seisreduce::seedlink::info::table(&level, &text))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stations { sources, json } => {
            let catalogue =
                seisreduce::metadata::fetch::load(&sources).map_err(anyhow::Error::msg)?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(
                    &mut out,
                    &seisreduce::metadata::table::json(&catalogue),
                )?;
                writeln!(out)?;
            } else {
                write!(out, "{}", seisreduce::metadata::table::text(&catalogue))?;
            }
            Ok(if catalogue.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Response {
            sources,
            channel,
            time,
            output,
            nfft,
            t_samp,
            json,
        } => {
            use seisreduce::metadata::evaluate::Output;
            let catalogue =
                seisreduce::metadata::fetch::load(&sources).map_err(anyhow::Error::msg)?;
            let id = seisreduce::model::ids::SeedId::parse(&channel)?;
            let at = match &time {
                Some(t) => seisreduce::model::time::parse_iso(t)
                    .with_context(|| format!("--time {t}: not an ISO 8601 time"))?,
                None => seisreduce::model::time::now(),
            };
            let output = Output::parse(&output)
                .with_context(|| format!("--output {output}: one of DISP, VEL, ACC, DEF"))?;
            let epoch = catalogue.at(&id, at)?;
            let grid = seisreduce::metadata::table::response_grid(epoch, output, nfft, t_samp)
                .map_err(anyhow::Error::msg)?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer(&mut out, &grid.json())?;
                writeln!(out)?;
            } else {
                write!(out, "{}", grid.text())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Types { markdown } => {
            let mut out = std::io::stdout().lock();
            if markdown {
                write!(out, "{}", seisreduce::pipeline::registry::markdown())?;
            } else {
                for t in seisreduce::pipeline::registry::TYPES {
                    writeln!(out, "{:<9} {:<14} {}", t.role.plural(), t.name, t.about)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth(args) => {
            let spec = args.spec()?;
            let out = &args.out;
            let channels = args.channels;
            let (bytes, samples) = synth_file(&spec)?;
            std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "{}: {} channels, {samples} samples, {} bytes ({:.3} bytes/sample)",
                out.display(),
                channels,
                bytes.len(),
                bytes.len() as f64 / samples.max(1) as f64
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
