//! The `schoolgate` command: parse arguments, load the configuration, call
//! the library, map the outcome to an exit code (SPEC: 0 approve, 1 rewrite,
//! 2 hold, 3 error with one plain sentence on stderr).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use schoolgate::accounts::{self, Account, Role};
use schoolgate::quarantine::{AuditCheck, ListFilter, Status, format_utc};
use schoolgate::{Config, Engine, Envelope, RulePack, config, release, report, serve};

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
    /// Run the milter (Postfix smtpd_milters / Sendmail INPUT_MAIL_FILTER)
    Serve {
        /// inet:HOST:PORT or unix:PATH [default: milter.listen]
        #[arg(long)]
        listen: Option<String>,
    },
    /// Serve the DPO's review UI (sign in, held mail, release and reject, audit log)
    Review {
        /// HOST:PORT [default: review.listen]
        #[arg(long)]
        listen: Option<String>,
    },
    /// Read attachments for the daemon (started by it; not for people)
    #[command(hide = true)]
    Worker {
        #[arg(long, default_value_t = 1536)]
        memory_mb: usize,
    },
    /// Held mail: list, show, release, reject, purge
    Held {
        #[command(subcommand)]
        command: HeldCommand,
    },
    /// Review UI accounts: add, change a password, disable, list
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The audit log: every hold, view, release, reject and purge
    Audit {
        #[command(subcommand)]
        command: Option<AuditCommand>,
        /// Entries at or after this date (YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum HeldCommand {
    /// Held messages, newest first
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        sender: Option<String>,
        /// Held at or after this date (YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// One held message: envelope, headers, redacted findings, its text shown safely
    Show { id: String },
    /// Send a held message on, with its rewrites (Bcc, disclaimer) applied
    Release {
        id: String,
        #[arg(long)]
        note: String,
    },
    /// Never send a held message; the sender is told, with the note
    Reject {
        id: String,
        #[arg(long)]
        note: String,
    },
    /// Settle a release whose outcome is unknown (check the relay's log first)
    Resolve {
        id: String,
        /// The relay's log shows the message was accepted
        #[arg(long, conflicts_with = "not_delivered")]
        delivered: bool,
        /// The relay never accepted it: back to held
        #[arg(long)]
        not_delivered: bool,
        #[arg(long)]
        note: String,
    },
    /// Remove message bodies past quarantine.retention_days (metadata and audit stay)
    Purge,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add an account; its password is asked for twice on the terminal
    Add {
        /// Lower-case letters, digits, dots, underscores, hyphens or @ (an email address fits)
        name: String,
        /// dpo (reads, decides, downloads originals), reviewer (reads, decides), auditor (reads)
        #[arg(long, value_name = "dpo|reviewer|auditor")]
        role: String,
        /// Only mail from this sender domain and its subdomains; repeatable [default: every sender]
        #[arg(long = "domain", value_name = "DOMAIN")]
        domains: Vec<String>,
        /// Read the password from the first line of standard input (for scripts)
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password; anyone signed in as the account is signed out
    Passwd {
        name: String,
        /// Read the password from the first line of standard input (for scripts)
        #[arg(long)]
        password_stdin: bool,
    },
    /// Stop an account from signing in and sign it out; its audit entries stay
    Disable { name: String },
    /// Every account with its role, state and sender domains (never a password hash)
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain: a changed or removed entry is reported
    Verify,
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
            let engine = with_workers(load_engine(cli.config.as_deref())?, 1)?;
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
        Command::Serve { listen } => {
            init_logging();
            // One thread for the milter protocol: its work is a little parsing
            // per packet, and on one thread the sessions cost each other no
            // cross-core wake-ups. Verdicts run on threads of their own
            // (`milter.workers`, src/verdict_pool.rs).
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start: {e}"))?;
            runtime.block_on(serve::serve(config_path(cli.config.as_deref()), listen))?;
            Ok(0)
        }
        Command::Review { listen } => {
            init_logging();
            let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start: {e}"))?;
            runtime.block_on(schoolgate::review::serve(
                config_path(cli.config.as_deref()).as_deref(),
                listen,
            ))?;
            Ok(0)
        }
        Command::Worker { memory_mb } => {
            schoolgate::worker::run(memory_mb).map_err(|e| format!("worker: {e}"))?;
            Ok(0)
        }
        Command::Held { command } => held(cli.config.as_deref(), command),
        Command::Users { command } => users(cli.config.as_deref(), command),
        Command::Audit { command, since, format } => audit(cli.config.as_deref(), command, since, format),
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

/// The configuration alone, for commands that need no rules.
fn load_config(explicit: Option<&Path>) -> Result<Config, String> {
    match config_path(explicit) {
        Some(path) => Config::load(&path).map_err(|e| e.to_string()),
        None => Ok(Config::default()),
    }
}

fn load_engine(explicit: Option<&Path>) -> Result<Engine, String> {
    serve::load_engine(config_path(explicit).as_deref())
}

/// `engine` reading attachments in `keep` warm worker processes of this executable.
fn with_workers(engine: Engine, keep: usize) -> Result<Engine, String> {
    let pool = schoolgate::worker::WorkerPool::current_exe(engine.config(), keep)?;
    Ok(engine.with_document_reader(std::sync::Arc::new(pool)))
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

/// The actor recorded in the audit log for CLI decisions: the login name.
fn actor() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".to_string())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Colours only on a terminal: a log file or the journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn held(config: Option<&Path>, command: HeldCommand) -> Result<u8, String> {
    let engine = load_engine(config)?;
    let store = serve::open_store(engine.config())?;
    let now = serve::unix_now();
    match command {
        HeldCommand::List {
            status,
            rule,
            sender,
            since,
            format,
        } => {
            let filter = ListFilter {
                status: status.as_deref().map(str::parse::<Status>).transpose()?,
                rule,
                sender,
                since: since.as_deref().map(schoolgate::quarantine::parse_date).transpose()?,
                limit: None,
                offset: 0,
            };
            let rows = store.list(&filter).map_err(|e| e.to_string())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?),
                Format::Text => {
                    if rows.is_empty() {
                        println!("nothing held matches");
                    }
                    for row in rows {
                        println!(
                            "{}  {:<9}  {}  {} -> {}  [{}]{}",
                            row.id,
                            row.status.as_str(),
                            format_utc(row.held_at),
                            if row.sender.is_empty() { "<>" } else { &row.sender },
                            row.recipients.join(", "),
                            row.rules.join(", "),
                            row.release_error
                                .map(|e| format!("  last release refused: {e}"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            Ok(0)
        }
        HeldCommand::Show { id } => {
            let held = store
                .get(&id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no held message {id}"))?;
            store
                .record_view(&held.summary.id, &actor(), now)
                .map_err(|e| e.to_string())?;
            print!("{}", schoolgate::review_text::show(&engine, &held));
            Ok(0)
        }
        HeldCommand::Release { id, note } => {
            let reply = release::release(&*store, &engine, &id, &actor(), &note, now).map_err(|e| e.to_string())?;
            println!("released {id}: the relay answered {reply}");
            Ok(0)
        }
        HeldCommand::Reject { id, note } => {
            release::reject(&*store, &id, &actor(), &note, now).map_err(|e| e.to_string())?;
            serve::send_due_notices(&*store, &engine, now);
            println!("rejected {id}; the sender is told");
            Ok(0)
        }
        HeldCommand::Resolve {
            id,
            delivered,
            not_delivered,
            note,
        } => {
            if delivered == not_delivered {
                return Err("say --delivered or --not-delivered, after checking the relay's log".into());
            }
            store
                .resolve_unknown_release(&id, &actor(), delivered, Some(&note), now)
                .map_err(|e| e.to_string())?;
            println!(
                "{id}: {}",
                if delivered {
                    "recorded as released"
                } else {
                    "back to held"
                }
            );
            Ok(0)
        }
        HeldCommand::Purge => {
            let older_than = now - i64::from(engine.config().quarantine.retention_days) * 86_400;
            let n = store.purge(older_than, &actor(), now).map_err(|e| e.to_string())?;
            println!(
                "purged {n} message bodies older than {} days",
                engine.config().quarantine.retention_days
            );
            Ok(0)
        }
    }
}

fn users(config: Option<&Path>, command: UsersCommand) -> Result<u8, String> {
    let store = serve::open_store(&load_config(config)?)?;
    let now = serve::unix_now();
    match command {
        UsersCommand::Add {
            name,
            role,
            domains,
            password_stdin,
        } => {
            // Everything but the password is checked before it is asked for.
            let name = accounts::normalise_name(&name);
            accounts::check_name(&name)?;
            let role: Role = role.parse()?;
            let domains = accounts::normalise_domains(&domains)?;
            if store.account(&name).map_err(|e| e.to_string())?.is_some() {
                return Err(format!("there is already an account named {name}"));
            }
            let password = new_password(&name, password_stdin)?;
            let hash = accounts::hash_password(&password)?;
            let account = Account {
                name,
                role,
                domains,
                disabled: false,
                created_at: now,
            };
            store
                .add_account(&account, &hash, &actor(), now)
                .map_err(|e| e.to_string())?;
            println!(
                "added {}: {}, {}",
                account.name,
                account.role,
                accounts::senders_text(&account.domains)
            );
            Ok(0)
        }
        UsersCommand::Passwd { name, password_stdin } => {
            let name = accounts::normalise_name(&name);
            if store.account(&name).map_err(|e| e.to_string())?.is_none() {
                return Err(format!("there is no account named {name}"));
            }
            let password = new_password(&name, password_stdin)?;
            let hash = accounts::hash_password(&password)?;
            store
                .set_password(&name, &hash, &actor(), now)
                .map_err(|e| e.to_string())?;
            println!("changed the password of {name}; anyone signed in as {name} must sign in again");
            Ok(0)
        }
        UsersCommand::Disable { name } => {
            let name = accounts::normalise_name(&name);
            match store.account(&name).map_err(|e| e.to_string())? {
                None => Err(format!("there is no account named {name}")),
                Some((account, _)) if account.disabled => {
                    println!("{name} was already disabled");
                    Ok(0)
                }
                Some(_) => {
                    store.disable_account(&name, &actor(), now).map_err(|e| e.to_string())?;
                    println!("disabled {name}; it is signed out and can no longer sign in");
                    Ok(0)
                }
            }
        }
        UsersCommand::List { format } => {
            let all = store.accounts().map_err(|e| e.to_string())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?),
                Format::Text => {
                    if all.is_empty() {
                        println!("no accounts; add one with `schoolgate users add NAME --role dpo`");
                    }
                    for account in &all {
                        println!(
                            "{:<24}  {:<8}  {:<8}  since {}  {}",
                            account.name,
                            account.role.as_str(),
                            if account.disabled { "disabled" } else { "active" },
                            format_utc(account.created_at),
                            accounts::senders_text(&account.domains)
                        );
                    }
                }
            }
            Ok(0)
        }
    }
}

/// A new password for `name`: asked twice on the terminal, or the first
/// line of standard input; refused unless [`accounts::check_password`]
/// accepts it.
fn new_password(name: &str, from_stdin: bool) -> Result<String, String> {
    let password = if from_stdin {
        let mut line = String::new();
        let read = std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        if read == 0 {
            return Err("no password on standard input".to_string());
        }
        let end = line.trim_end_matches('\n').trim_end_matches('\r').len();
        line.truncate(end);
        line
    } else {
        let unreadable =
            |e: std::io::Error| format!("cannot read a password from the terminal ({e}); use --password-stdin");
        let first = rpassword::prompt_password(format!("New password for {name}: ")).map_err(unreadable)?;
        accounts::check_password(name, &first)?;
        let again = rpassword::prompt_password("The same again: ").map_err(unreadable)?;
        if again != first {
            return Err("the two passwords differ; nothing was changed".to_string());
        }
        first
    };
    accounts::check_password(name, &password)?;
    Ok(password)
}

fn audit(
    config: Option<&Path>,
    command: Option<AuditCommand>,
    since: Option<String>,
    format: Format,
) -> Result<u8, String> {
    let engine = load_engine(config)?;
    let store = serve::open_store(engine.config())?;
    match command {
        Some(AuditCommand::Verify) => match store.verify_audit().map_err(|e| e.to_string())? {
            AuditCheck::Ok { entries } => {
                println!("the audit log is intact ({entries} entries)");
                Ok(0)
            }
            AuditCheck::Broken { seq, reason } => Err(format!("the audit log is broken at entry {seq}: {reason}")),
        },
        None => {
            let since = since.as_deref().map(schoolgate::quarantine::parse_date).transpose()?;
            for record in store.audit_log(since).map_err(|e| e.to_string())? {
                match format {
                    Format::Json => println!("{}", serde_json::to_string(&record).map_err(|e| e.to_string())?),
                    Format::Text => println!(
                        "{:>6}  {}  {:<16} {:<16} {}  {}",
                        record.seq,
                        format_utc(record.at),
                        record.actor,
                        record.action,
                        record.hold_id.as_deref().unwrap_or("-"),
                        record.detail
                    ),
                }
            }
            Ok(0)
        }
    }
}
