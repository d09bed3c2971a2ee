//! The `schoolgate` command: parse arguments, load the configuration, call
//! the library, map the outcome to an exit code (SPEC: 0 approve, 1 rewrite,
//! 2 hold, 3 error with one plain sentence on stderr).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use schoolgate::{ConfigError, Engine, Envelope, RulePack, config, report};

#[derive(Parser)]
#[command(
    name = "schoolgate",
    version,
    about = "Outbound data-loss-prevention milter for schools"
)]
struct Cli {
    /// Configuration file [default: /etc/schoolgate/schoolgate.toml if it exists, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan one message offline and print the verdict
    Scan {
        /// The message file, or - for standard input
        #[arg(default_value = "-")]
        file: String,
        /// Envelope sender (default: the From header)
        #[arg(long, value_name = "ADDR")]
        from: Option<String>,
        /// Envelope recipient, repeatable (default: To, Cc and Bcc)
        #[arg(long, value_name = "ADDR")]
        to: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the message as it would leave (rewritten; for hold, as released)
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check a rule pack directory (default: the built-in rules)
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate every rule file and report every error
    Check { dir: Option<PathBuf> },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

const EXIT_ERROR: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("schoolgate: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Scan {
            file,
            from,
            to,
            format,
            output,
        } => {
            let engine = load_engine(cli.config.as_deref())?;
            let raw = read_message(&file)?;
            let envelope = Envelope {
                sender: from,
                recipients: to,
            };
            let mut verdict = engine.inspect(&raw, &envelope);
            if let Some(path) = &output {
                let rewrite = engine.rewrite(&raw, &verdict);
                verdict.skipped.extend(rewrite.skipped.iter().cloned());
                std::fs::write(path, rewrite.apply(&raw))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            match format {
                Format::Json => println!("{}", verdict.to_json()),
                Format::Text => print!("{}", report::text(&verdict, engine.rules())),
            }
            Ok(verdict.action.exit_code())
        }
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => {
            let result = match &dir {
                Some(dir) => RulePack::load(dir).map(|_| ()),
                None => Engine::load(config_path(cli.config.as_deref()).as_deref()).map(|_| ()),
            };
            match result {
                Ok(()) => {
                    println!("rules are valid");
                    Ok(0)
                }
                Err(errors) => {
                    for error in &errors {
                        eprintln!("{error}");
                    }
                    Err(format!("{} error(s) in the rules", errors.len()))
                }
            }
        }
    }
}

/// The explicit `--config`, else the default path if it exists, else none (built-in defaults).
fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(config::DEFAULT_PATH)).filter(|p| p.exists()),
    }
}

fn load_engine(explicit: Option<&Path>) -> Result<Engine, String> {
    Engine::load(config_path(explicit).as_deref()).map_err(|errors| join_errors(&errors))
}

fn join_errors(errors: &[ConfigError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

fn read_message(file: &str) -> Result<Vec<u8>, String> {
    if file == "-" {
        let mut raw = Vec::new();
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(|e| format!("cannot read the message from standard input: {e}"))?;
        Ok(raw)
    } else {
        std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))
    }
}
