//! `schoolgate.toml` → a validated [`Config`].
//!
//! Two stages, as ripgrep does it: serde reads the raw values exactly as the
//! technician wrote them (unknown keys refused), then [`Config::from_raw`]
//! checks every value and builds the normalised form the pipeline uses. Every
//! error carries the file, the line and what is wrong, so `schoolgate` can
//! refuse a broken file in one plain sentence.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::rules::{RuleAction, RuleId};

/// The default location of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/schoolgate/schoolgate.toml";

/// The disclaimer used when the configuration gives none, so that the
/// `disclaimer` rule means something out of the box.
pub const DEFAULT_DISCLAIMER: &str = "This email and any attachments are confidential and intended only for the named recipients. If you have received it in error, please tell the sender and delete it.";

/// The subject used by `sensitive-subject` in `rewrite` mode when none is configured.
pub const DEFAULT_NEUTRAL_SUBJECT: &str = "Confidential message";

/// Enforce the rules, or only report what would have happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Monitor,
}

/// The validated configuration every command works from.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub mode: Mode,
    pub organisation: Organisation,
    pub disclaimer: Disclaimer,
    /// Per-rule settings from `[rules.<id>]`; rules not named keep the rule pack's defaults.
    pub rules: BTreeMap<RuleId, RuleSettings>,
    pub limits: Limits,
    /// A directory whose files replace the built-in rule pack's (`rules_dir = "…"`).
    pub rules_dir: Option<PathBuf>,
    pub milter: Milter,
    pub quarantine: Quarantine,
    pub relay: Relay,
    pub notices: Notices,
    pub review: Review,
}

/// `[review]`: the DPO's web UI (`schoolgate review`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Review {
    /// `HOST:PORT`; loopback by default, behind the school's reverse proxy otherwise.
    pub listen: String,
    /// Mark the session cookie `Secure`. Leave on behind HTTPS; turn off only
    /// for plain HTTP on loopback.
    pub secure_cookies: bool,
    /// A session ends this long after sign-in.
    pub session_minutes: u64,
    /// Failed sign-ins per account and per address in 15 minutes before more are refused.
    pub max_failed_logins: u32,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            listen: "127.0.0.1:8025".to_string(),
            secure_cookies: true,
            session_minutes: 480,
            max_failed_logins: 5,
        }
    }
}

/// `[milter]`: how `schoolgate serve` listens and what it does when it cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Milter {
    /// `inet:HOST:PORT` or `unix:PATH`.
    pub listen: String,
    /// Time budget for one message's verdict, well inside Postfix's
    /// `milter_content_timeout` (300 s by default; past it Postfix 451s every
    /// later message on the connection).
    pub timeout_seconds: u64,
    /// Messages inspected at once; more wait their turn.
    pub workers: usize,
    /// An error handling one message: `tempfail` (the relay keeps it) or `accept`.
    pub on_error: OnError,
    /// A message over `limits.max_message_bytes`: `unscannable` (verdict from what was read) or `tempfail`.
    pub oversize: Oversize,
}

impl Default for Milter {
    fn default() -> Self {
        Milter {
            listen: "inet:127.0.0.1:3344".to_string(),
            timeout_seconds: 60,
            workers: 2,
            on_error: OnError::Tempfail,
            oversize: Oversize::Unscannable,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    Tempfail,
    Accept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Oversize {
    Unscannable,
    Tempfail,
}

/// `[quarantine]`: where held mail is kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quarantine {
    /// The SQLite file.
    pub path: PathBuf,
    /// Reserved for a shared PostgreSQL database (`postgres://…`).
    pub url: Option<String>,
    /// Message bodies are purged this many days after they were held.
    pub retention_days: u32,
}

impl Default for Quarantine {
    fn default() -> Self {
        Quarantine {
            path: PathBuf::from("/var/lib/schoolgate/quarantine.sqlite"),
            url: None,
            retention_days: 30,
        }
    }
}

/// `[relay]`: where released mail and notices are re-injected (a port with no milters).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Relay {
    /// `HOST:PORT`.
    pub reinject: String,
}

impl Default for Relay {
    fn default() -> Self {
        Relay {
            reinject: "127.0.0.1:10026".to_string(),
        }
    }
}

/// `[notices]`: who hold notices come from and who reviews.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Notices {
    /// The notices' From (default: `schoolgate@` the first internal domain).
    pub from: Option<String>,
    /// The Data Protection Officer's address, told of every hold.
    pub dpo: Option<String>,
    pub digest: Digest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    #[default]
    Immediate,
    Daily,
}

#[derive(Debug, Clone, Default)]
pub struct Organisation {
    pub name: String,
    /// Lower-case domains; subdomains are included when matching.
    pub internal_domains: Vec<String>,
    pub trusted_domains: Vec<String>,
    /// The address put in To when every visible recipient moved to Bcc.
    pub own_address: Option<String>,
    /// Compact upper-case postcodes (`OX42AB`): never findings.
    pub own_postcodes: Vec<String>,
    /// Digits only, `+44` written as `0`: never findings.
    pub own_phones: Vec<String>,
    /// Lower-case subject tags that route a message through the encryption gateway.
    pub secure_tags: Vec<String>,
    /// The school's own bank details (sort code + account, or IBAN), printed
    /// on every trip letter and invoice: never findings.
    pub own_bank_accounts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Disclaimer {
    pub text: String,
    pub html: Option<String>,
}

impl Default for Disclaimer {
    fn default() -> Self {
        Disclaimer {
            text: DEFAULT_DISCLAIMER.to_string(),
            html: None,
        }
    }
}

/// What `[rules.<id>]` may say.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    pub action: Option<RuleAction>,
    /// `bcc` only: the address left in To when every recipient moved to Bcc.
    pub placeholder: Option<String>,
    /// `sensitive-subject` only: the subject used in `rewrite` mode.
    pub neutral_subject: Option<String>,
}

/// Bounds on the work one message may cause (ATTACHMENTS.md gives the origins).
/// The attachment limits travel with each request to the worker process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes of raw message the scanner reads; the rest is an `unscannable` finding.
    pub max_message_bytes: usize,
    /// MIME parts looked at; the rest is an `unscannable` finding.
    pub max_parts: usize,
    /// Nesting of containers (message/rfc822, zip, 7z, TNEF, Office embeddings).
    pub max_nesting: usize,
    /// Characters of text taken from one part.
    pub max_part_chars: usize,
    /// Characters of text taken from the whole message.
    pub max_message_chars: usize,
    /// Bytes of HTML converted to text per part.
    pub max_html_bytes: usize,
    /// Bytes one archive entry may decompress to.
    pub max_entry_bytes: usize,
    /// Bytes all archives of one attachment may decompress to, together.
    pub max_unpacked_bytes: usize,
    /// Entries read from one archive.
    pub max_entries: usize,
    /// Compression ratio above which an entry over 1 MB is a bomb.
    pub max_ratio: usize,
    /// Element nesting in an XML part (ODF).
    pub max_xml_depth: usize,
    /// Pages of a PDF read.
    pub max_pdf_pages: usize,
    /// Spreadsheet cells read from one workbook.
    pub max_cells: usize,
    /// Address space of the worker process that parses attachments, in MiB.
    pub worker_memory_mb: usize,
    /// CPU seconds the worker may spend on one attachment.
    pub worker_cpu_seconds: usize,
    /// Wall-clock seconds the worker may take for one attachment.
    pub worker_wall_seconds: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 50 * 1024 * 1024,
            max_parts: 1000,
            max_nesting: 5,
            max_part_chars: 10_000_000,
            max_message_chars: 50_000_000,
            max_html_bytes: 10 * 1024 * 1024,
            max_entry_bytes: 50 * 1024 * 1024,
            max_unpacked_bytes: 200 * 1024 * 1024,
            max_entries: 10_000,
            max_ratio: 100,
            max_xml_depth: 100,
            max_pdf_pages: 2000,
            max_cells: 5_000_000,
            worker_memory_mb: 1536,
            worker_cpu_seconds: 20,
            worker_wall_seconds: 10,
        }
    }
}

impl Limits {
    fn values(&self) -> [usize; 16] {
        [
            self.max_message_bytes,
            self.max_parts,
            self.max_nesting,
            self.max_part_chars,
            self.max_message_chars,
            self.max_html_bytes,
            self.max_entry_bytes,
            self.max_unpacked_bytes,
            self.max_entries,
            self.max_ratio,
            self.max_xml_depth,
            self.max_pdf_pages,
            self.max_cells,
            self.worker_memory_mb,
            self.worker_cpu_seconds,
            self.worker_wall_seconds,
        ]
    }
}

/// A configuration or rule file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub message: String,
}

impl ConfigError {
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_string(),
            line: 0,
            message: message.into(),
        }
    }

    /// An error at a byte span of `source`.
    pub fn at(file: &str, source: &str, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        let line = span.map_or(0, |span| line_of(source, span.start));
        ConfigError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    /// Turn a toml/serde error into one that names the file and line.
    pub fn from_toml(file: &str, source: &str, error: &toml::de::Error) -> Self {
        let message = error.message().trim().replace('\n', " ");
        ConfigError::at(file, source, error.span(), message)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The 1-based line holding byte `offset` of `source`.
pub fn line_of(source: &str, offset: usize) -> usize {
    let offset = offset.min(source.len());
    source.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    organisation: Option<RawOrganisation>,
    #[serde(default)]
    disclaimer: Option<RawDisclaimer>,
    #[serde(default)]
    rules: BTreeMap<String, Spanned<RawRuleSettings>>,
    #[serde(default)]
    limits: Option<Spanned<Limits>>,
    #[serde(default)]
    rules_dir: Option<PathBuf>,
    #[serde(default)]
    milter: Option<Spanned<Milter>>,
    #[serde(default)]
    quarantine: Option<Spanned<Quarantine>>,
    #[serde(default)]
    relay: Option<Spanned<Relay>>,
    #[serde(default)]
    notices: Option<Spanned<Notices>>,
    #[serde(default)]
    review: Option<Spanned<Review>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    #[serde(default)]
    name: String,
    #[serde(default)]
    internal_domains: Vec<Spanned<String>>,
    #[serde(default)]
    trusted_domains: Vec<Spanned<String>>,
    #[serde(default)]
    own_address: Option<Spanned<String>>,
    #[serde(default)]
    own_postcodes: Vec<Spanned<String>>,
    #[serde(default)]
    own_phones: Vec<Spanned<String>>,
    #[serde(default)]
    secure_tags: Vec<Spanned<String>>,
    #[serde(default)]
    own_bank_accounts: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisclaimer {
    text: Spanned<String>,
    #[serde(default)]
    html: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSettings {
    #[serde(default)]
    action: Option<Spanned<String>>,
    #[serde(default)]
    placeholder: Option<Spanned<String>>,
    #[serde(default)]
    neutral_subject: Option<String>,
}

impl Config {
    /// Read and validate the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let source = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::whole_file(&name, format!("cannot read the configuration: {e}")))?;
        let mut config = Config::parse(&name, &source)?;
        // A relative rules_dir is relative to the configuration file.
        if let (Some(dir), Some(parent)) = (&config.rules_dir, path.parent())
            && dir.is_relative()
        {
            config.rules_dir = Some(parent.join(dir));
        }
        Ok(config)
    }

    /// Validate configuration text; `file` names it in errors.
    pub fn parse(file: &str, source: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(source).map_err(|e| ConfigError::from_toml(file, source, &e))?;
        Config::from_raw(file, source, raw)
    }

    fn from_raw(file: &str, source: &str, raw: RawConfig) -> Result<Config, ConfigError> {
        let err = |span: Range<usize>, message: String| ConfigError::at(file, source, Some(span), message);
        let raw_org = raw.organisation.unwrap_or_default();

        let domains = |list: Vec<Spanned<String>>, key: &str| -> Result<Vec<String>, ConfigError> {
            list.into_iter()
                .map(|d| {
                    let span = d.span();
                    normalise_domain(d.get_ref()).ok_or_else(|| {
                        err(
                            span,
                            format!("organisation.{key}: {:?} is not a domain name", d.get_ref()),
                        )
                    })
                })
                .collect()
        };
        let internal_domains = domains(raw_org.internal_domains, "internal_domains")?;
        let trusted_domains = domains(raw_org.trusted_domains, "trusted_domains")?;

        let own_address = match raw_org.own_address {
            Some(address) => {
                let span = address.span();
                let value = address.into_inner();
                if !is_plausible_address(&value) {
                    return Err(err(
                        span,
                        format!("organisation.own_address: {value:?} is not an email address"),
                    ));
                }
                Some(value)
            }
            None => None,
        };

        let mut own_postcodes = Vec::new();
        for postcode in raw_org.own_postcodes {
            let compact = compact_upper(postcode.get_ref());
            if !(5..=7).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(err(
                    postcode.span(),
                    format!(
                        "organisation.own_postcodes: {:?} is not a UK postcode",
                        postcode.get_ref()
                    ),
                ));
            }
            own_postcodes.push(compact);
        }

        let mut own_phones = Vec::new();
        for phone in raw_org.own_phones {
            match normalise_phone(phone.get_ref()) {
                Some(digits) => own_phones.push(digits),
                None => {
                    return Err(err(
                        phone.span(),
                        format!("organisation.own_phones: {:?} is not a phone number", phone.get_ref()),
                    ));
                }
            }
        }

        let mut secure_tags = Vec::new();
        for tag in raw_org.secure_tags {
            let value = tag.get_ref().trim().to_lowercase();
            if value.is_empty() {
                return Err(err(
                    tag.span(),
                    "organisation.secure_tags: a tag cannot be empty".to_string(),
                ));
            }
            secure_tags.push(value);
        }

        let mut own_bank_accounts = Vec::new();
        for account in raw_org.own_bank_accounts {
            let digits = account.get_ref().chars().filter(char::is_ascii_digit).count();
            let iban = crate::detect::checks::iban_valid(account.get_ref());
            if digits != 14 && !iban {
                return Err(err(
                    account.span(),
                    format!(
                        "organisation.own_bank_accounts: {:?} is neither a sort code and account number nor a valid IBAN",
                        account.get_ref()
                    ),
                ));
            }
            own_bank_accounts.push(account.into_inner());
        }

        let disclaimer = match raw.disclaimer {
            Some(d) => {
                if d.text.get_ref().trim().is_empty() {
                    return Err(err(d.text.span(), "disclaimer.text cannot be empty".to_string()));
                }
                Disclaimer {
                    text: d.text.into_inner().trim().to_string(),
                    html: d.html.map(|h| h.trim().to_string()).filter(|h| !h.is_empty()),
                }
            }
            None => Disclaimer::default(),
        };

        let mut rules = BTreeMap::new();
        for (key, settings) in raw.rules {
            let span = settings.span();
            let Ok(id) = key.parse::<RuleId>() else {
                return Err(err(
                    span,
                    format!(
                        "[rules.{key}]: there is no rule {key:?} (rules are: {})",
                        RuleId::names().join(", ")
                    ),
                ));
            };
            let settings = settings.into_inner();
            let action = match settings.action {
                Some(action) => {
                    let span = action.span();
                    let parsed = action
                        .get_ref()
                        .parse::<RuleAction>()
                        .ok()
                        .filter(|a| id.allows(*a))
                        .ok_or_else(|| {
                            err(
                                span,
                                format!(
                                    "rules.{key}.action: {:?} is not an action of this rule (it takes {})",
                                    action.get_ref(),
                                    id.allowed_actions()
                                        .iter()
                                        .map(|a| a.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                        })?;
                    Some(parsed)
                }
                None => None,
            };
            if let Some(placeholder) = &settings.placeholder
                && (id != RuleId::Bcc || !is_placeholder(placeholder.get_ref()))
            {
                return Err(err(
                    placeholder.span(),
                    format!(
                        "rules.{key}.placeholder: only the bcc rule has a placeholder, and it must be an address or a group like \"undisclosed-recipients:;\""
                    ),
                ));
            }
            if settings.neutral_subject.is_some() && id != RuleId::SensitiveSubject {
                return Err(err(
                    span,
                    format!("rules.{key}.neutral_subject: only sensitive-subject has one"),
                ));
            }
            rules.insert(
                id,
                RuleSettings {
                    action,
                    placeholder: settings.placeholder.map(Spanned::into_inner),
                    neutral_subject: settings.neutral_subject,
                },
            );
        }

        let limits = match raw.limits {
            Some(limits) => {
                let span = limits.span();
                let limits = limits.into_inner();
                if limits.values().contains(&0) {
                    return Err(err(span, "limits: every limit must be greater than zero".to_string()));
                }
                limits
            }
            None => Limits::default(),
        };

        let milter = match raw.milter {
            Some(milter) => {
                let span = milter.span();
                let milter = milter.into_inner();
                if !valid_listen(&milter.listen) {
                    return Err(err(
                        span,
                        format!("milter.listen: {:?} is not inet:HOST:PORT or unix:PATH", milter.listen),
                    ));
                }
                if milter.timeout_seconds == 0 || milter.workers == 0 {
                    return Err(err(
                        span,
                        "milter: timeout_seconds and workers must be greater than zero".to_string(),
                    ));
                }
                milter
            }
            None => Milter::default(),
        };
        let quarantine = match raw.quarantine {
            Some(quarantine) => {
                let span = quarantine.span();
                let quarantine = quarantine.into_inner();
                if quarantine.url.is_some() {
                    return Err(err(
                        span,
                        "quarantine.url: a shared PostgreSQL quarantine is not supported yet; use quarantine.path"
                            .to_string(),
                    ));
                }
                if quarantine.retention_days == 0 {
                    return Err(err(
                        span,
                        "quarantine.retention_days must be greater than zero".to_string(),
                    ));
                }
                quarantine
            }
            None => Quarantine::default(),
        };
        let relay = match raw.relay {
            Some(relay) => {
                let span = relay.span();
                let relay = relay.into_inner();
                if split_host_port(&relay.reinject).is_none() {
                    return Err(err(
                        span,
                        format!("relay.reinject: {:?} is not HOST:PORT", relay.reinject),
                    ));
                }
                relay
            }
            None => Relay::default(),
        };
        let notices = match raw.notices {
            Some(notices) => {
                let span = notices.span();
                let notices = notices.into_inner();
                for address in [&notices.from, &notices.dpo].into_iter().flatten() {
                    if !is_plausible_address(address) {
                        return Err(err(span, format!("notices: {address:?} is not an email address")));
                    }
                }
                notices
            }
            None => Notices::default(),
        };

        let review = match raw.review {
            Some(review) => {
                let span = review.span();
                let review = review.into_inner();
                if review.listen.parse::<std::net::SocketAddr>().is_err() {
                    return Err(err(
                        span,
                        format!("review: listen {:?} is not HOST:PORT", review.listen),
                    ));
                }
                if review.session_minutes == 0 || review.max_failed_logins == 0 {
                    return Err(err(
                        span,
                        "review: session_minutes and max_failed_logins must be greater than zero".to_string(),
                    ));
                }
                review
            }
            None => Review::default(),
        };

        Ok(Config {
            milter,
            quarantine,
            relay,
            notices,
            review,
            mode: raw.mode.unwrap_or_default(),
            organisation: Organisation {
                name: raw_org.name,
                internal_domains,
                trusted_domains,
                own_address,
                own_postcodes,
                own_phones,
                secure_tags,
                own_bank_accounts,
            },
            disclaimer,
            rules,
            limits,
            rules_dir: raw.rules_dir,
        })
    }

    /// The action configured for `rule`, if the configuration overrides it.
    pub fn rule_action(&self, rule: RuleId) -> Option<RuleAction> {
        self.rules.get(&rule).and_then(|s| s.action)
    }

    /// The From of notices: `notices.from`, else `schoolgate@` the first internal domain.
    pub fn notices_from(&self) -> String {
        self.notices.from.clone().unwrap_or_else(|| {
            let domain = self
                .organisation
                .internal_domains
                .first()
                .map_or("localhost", String::as_str);
            format!("schoolgate@{domain}")
        })
    }

    /// What To becomes when every visible recipient moved to Bcc.
    pub fn bcc_placeholder(&self) -> String {
        self.rules
            .get(&RuleId::Bcc)
            .and_then(|s| s.placeholder.clone())
            .or_else(|| self.organisation.own_address.clone())
            .unwrap_or_else(|| "undisclosed-recipients:;".to_string())
    }

    /// The subject `sensitive-subject` writes in `rewrite` mode.
    pub fn neutral_subject(&self) -> String {
        self.rules
            .get(&RuleId::SensitiveSubject)
            .and_then(|s| s.neutral_subject.clone())
            .unwrap_or_else(|| DEFAULT_NEUTRAL_SUBJECT.to_string())
    }
}

/// `inet:HOST:PORT` or `unix:/path`.
fn valid_listen(listen: &str) -> bool {
    match listen.split_once(':') {
        Some(("inet", rest)) => split_host_port(rest).is_some(),
        Some(("unix", path)) => path.starts_with('/'),
        _ => false,
    }
}

/// `HOST:PORT` (IPv6 hosts in brackets) → (host, port).
pub fn split_host_port(value: &str) -> Option<(String, u16)> {
    let (host, port) = value.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// `Example.SCH.uk.` → `example.sch.uk`; `None` when it cannot be a domain.
pub fn normalise_domain(value: &str) -> Option<String> {
    let domain = value
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && !label.starts_with('-') && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    valid.then_some(domain)
}

fn is_plausible_address(value: &str) -> bool {
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !local.contains(char::is_whitespace) && normalise_domain(domain).is_some()
        }
        None => false,
    }
}

fn is_placeholder(value: &str) -> bool {
    is_plausible_address(value) || (value.ends_with(":;") && value.len() > 2)
}

/// Upper case with spaces removed: the form postcodes are compared in.
pub fn compact_upper(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A UK phone number as digits with a leading 0 (`+44 1865 123456` → `01865123456`).
pub fn normalise_phone(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let international = trimmed.starts_with('+');
    let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if international || digits.starts_with("0044") {
        let rest = digits.trim_start_matches("00");
        let rest = rest.strip_prefix("44")?;
        // "+44 (0)1865 …" keeps a 0 of its own.
        digits = format!("0{}", rest.trim_start_matches('0'));
    }
    let allowed = trimmed.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    (allowed && digits.starts_with('0') && (10..=11).contains(&digits.len())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_defaults() {
        let config = Config::parse("t.toml", "").expect("empty is valid");
        assert_eq!(config.mode, Mode::Enforce);
        assert!(config.organisation.internal_domains.is_empty());
        assert_eq!(config.disclaimer.text, DEFAULT_DISCLAIMER);
        assert_eq!(config.bcc_placeholder(), "undisclosed-recipients:;");
    }

    #[test]
    fn full_file_is_normalised() {
        let source = r#"
mode = "monitor"
[organisation]
name = "Oakfield"
internal_domains = ["Oakfield.SCH.uk", "@trust.org.uk"]
trusted_domains = ["northshire.gov.uk"]
own_address = "office@oakfield.sch.uk"
own_postcodes = ["ox4 2ab"]
own_phones = ["+44 (0)1865 123456", "01865 654321"]
secure_tags = ["[SECURE]"]
[disclaimer]
text = "  Confidential.  "
[rules.bcc]
action = "hold"
[rules.sensitive-subject]
action = "rewrite"
neutral_subject = "A message from school"
[limits]
max_parts = 10
"#;
        let config = Config::parse("t.toml", source).expect("valid");
        assert_eq!(config.mode, Mode::Monitor);
        assert_eq!(
            config.organisation.internal_domains,
            ["oakfield.sch.uk", "trust.org.uk"]
        );
        assert_eq!(config.organisation.own_postcodes, ["OX42AB"]);
        assert_eq!(config.organisation.own_phones, ["01865123456", "01865654321"]);
        assert_eq!(config.organisation.secure_tags, ["[secure]"]);
        assert_eq!(config.disclaimer.text, "Confidential.");
        assert_eq!(config.rule_action(RuleId::Bcc), Some(RuleAction::Hold));
        assert_eq!(config.neutral_subject(), "A message from school");
        assert_eq!(config.bcc_placeholder(), "office@oakfield.sch.uk");
        assert_eq!(config.limits.max_parts, 10);
        assert_eq!(config.limits.max_nesting, Limits::default().max_nesting);
    }

    #[test]
    fn errors_name_file_line_and_reason() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "unknown top-level key",
                "mode = \"enforce\"\ncolour = 1\n",
                2,
                "unknown field `colour`",
            ),
            (
                "unknown organisation key",
                "[organisation]\nname = \"x\"\ninternal_domain = [\"a.b\"]\n",
                3,
                "unknown field `internal_domain`",
            ),
            ("bad mode", "mode = \"strict\"\n", 1, "unknown variant `strict`"),
            (
                "bad domain",
                "[organisation]\ninternal_domains = [\n  \"ok.sch.uk\",\n  \"not a domain\",\n]\n",
                4,
                "is not a domain name",
            ),
            (
                "unknown rule",
                "[rules.personal_data]\naction = \"hold\"\n",
                1,
                "there is no rule \"personal_data\"",
            ),
            (
                "action the rule lacks",
                "[rules.personal-data]\naction = \"rewrite\"\n",
                2,
                "is not an action of this rule",
            ),
            (
                "bad own address",
                "[organisation]\nown_address = \"office\"\n",
                2,
                "is not an email address",
            ),
            (
                "bad postcode",
                "[organisation]\nown_postcodes = [\"OX4 2AB!\"]\n",
                2,
                "is not a UK postcode",
            ),
            ("zero limit", "[limits]\nmax_parts = 0\n", 1, "greater than zero"),
            ("unknown limit", "[limits]\nmax_zip = 3\n", 2, "unknown field `max_zip`"),
            ("syntax error", "mode = \n", 1, ""),
            (
                "empty disclaimer",
                "[disclaimer]\ntext = \"  \"\n",
                2,
                "cannot be empty",
            ),
        ];
        for (name, source, line, message) in cases {
            let error = Config::parse("school.toml", source).expect_err(name);
            assert_eq!(error.file, "school.toml", "{name}");
            assert_eq!(error.line, *line, "{name}: {error}");
            assert!(error.message.contains(message), "{name}: {error}");
            assert!(
                error.to_string().starts_with(&format!("school.toml:{line}: ")),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn phones_normalise_to_national_digits() {
        assert_eq!(normalise_phone("07700 900123").as_deref(), Some("07700900123"));
        assert_eq!(normalise_phone("+44 7700 900123").as_deref(), Some("07700900123"));
        assert_eq!(normalise_phone("0044 1865 123456").as_deref(), Some("01865123456"));
        assert_eq!(normalise_phone("call me"), None);
        assert_eq!(normalise_phone("12345"), None);
    }
}

#[cfg(test)]
mod example {
    #[test]
    fn the_shipped_example_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schoolgate.example.toml");
        let config = super::Config::load(&path).expect("schoolgate.example.toml is valid");
        assert_eq!(config.organisation.internal_domains.len(), 2);
    }
}
