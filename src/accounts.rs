//! Review accounts: who may look at held mail, who may decide about it, and
//! how they prove who they are.
//!
//! Why it is built this way:
//!
//! - **Roles are a closed set.** SPEC "Who uses it": the DPO decides and
//!   may take the original message away; a reviewer decides; an auditor only
//!   reads (and every view is audited all the same). Checks ask the role
//!   ([`Role::may_decide`], [`Role::may_download`]) rather than compare names,
//!   so a fourth role is one match arm, not a hunt.
//! - **Limits follow the sender.** A trust's DPO hands the mail of some of
//!   its schools to a reviewer: a reviewer limited to `oakfield.sch.uk` sees
//!   mail whose envelope sender is in that domain or below it. An empty list
//!   means every sender. The null sender has no domain, so only accounts
//!   without limits see it.
//! - **Argon2id with the `argon2` crate's default parameters** (19 MiB of
//!   memory, 2 passes, 1 lane: OWASP's recommended minimum for Argon2id),
//!   kept as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`): the
//!   parameters travel with each hash, so raising them later still verifies
//!   the old ones.
//! - **No account-name oracle.** A login to a name that does not exist calls
//!   [`dummy_verify`], which costs what [`verify_password`] costs, so the
//!   answer's timing does not tell which names exist.
//! - **Sessions are kept as hashes.** The review UI gives the browser a
//!   random token ([`new_token`]) and the store keeps only its SHA-256
//!   ([`token_hash`]): whoever reads the database (a backup, a copy) cannot
//!   sign in with what they find there. A 256-bit random token needs no slow
//!   hash; a password does.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::normalise_domain;
use crate::message::domain_of;

/// A password needs at least this many characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// And at most this many: enough for any passphrase or password manager,
/// and a bound on the work a login form can be made to do.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Account names are at most this long.
pub const MAX_NAME_CHARS: usize = 64;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The Data Protection Officer: reads, decides, downloads originals.
    Dpo,
    /// Reads and decides (release, reject), within its sender domains.
    Reviewer,
    /// Reads only.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Dpo, Role::Reviewer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dpo => "dpo",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
        }
    }

    /// Release and reject.
    pub fn may_decide(self) -> bool {
        matches!(self, Role::Dpo | Role::Reviewer)
    }

    /// Take the original message (with its unredacted data) away as a file.
    pub fn may_download(self) -> bool {
        self == Role::Dpo
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        let wanted = s.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| format!("{s:?} is not a role (dpo, reviewer or auditor)"))
    }
}

/// A review account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Lower case `[a-z0-9._@-]`, 1 to 64 characters ([`check_name`]).
    pub name: String,
    pub role: Role,
    /// The sender domains whose mail it sees, lower case; empty: all.
    pub domains: Vec<String>,
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl Account {
    /// Whether this account sees mail from the envelope sender `sender`:
    /// always without domain limits, else when the sender's domain is one
    /// of them or below one (case ignored).
    pub fn may_see(&self, sender: &str) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        let Some(domain) = domain_of(sender) else {
            return false;
        };
        self.domains.iter().any(|listed| {
            let listed = listed.trim_end_matches('.');
            domain.eq_ignore_ascii_case(listed)
                || (domain.len() > listed.len()
                    && domain.is_char_boundary(domain.len() - listed.len())
                    && domain[domain.len() - listed.len()..].eq_ignore_ascii_case(listed)
                    && domain[..domain.len() - listed.len()].ends_with('.'))
        })
    }
}

/// Whose mail an account limited to `domains` sees, in words (CLI and audit log).
pub fn senders_text(domains: &[String]) -> String {
    if domains.is_empty() {
        "mail from every sender".to_string()
    } else {
        format!("mail from {}", domains.join(", "))
    }
}

/// How names are compared: trimmed, lower case. Stores look names up in
/// this form, so `DPO` signs in as `dpo`.
pub fn normalise_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// An account name is lower case `[a-z0-9._@-]`, 1 to 64 characters (an
/// email address fits).
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an account name: use 1 to {MAX_NAME_CHARS} lower-case letters, digits, \
             dots, underscores, hyphens or @"
        ))
    }
}

/// Sender domains as typed (`@Oakfield.SCH.uk.`) to the form accounts keep
/// (`oakfield.sch.uk`), without repeats.
pub fn normalise_domains<S: AsRef<str>>(domains: &[S]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for domain in domains {
        let domain = domain.as_ref();
        let normal =
            normalise_domain(domain).ok_or_else(|| format!("{domain:?} is not a domain name like oakfield.sch.uk"))?;
        if !out.contains(&normal) {
            out.push(normal);
        }
    }
    Ok(out)
}

/// Whether a password is acceptable for the account `name`: at least
/// [`MIN_PASSWORD_CHARS`] characters, at most [`MAX_PASSWORD_CHARS`], and
/// not containing the account name (nor, for a name that is an address,
/// the part before the `@`). The error says which rule failed, never the
/// password.
pub fn check_password(name: &str, password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short: it needs at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "the password is too long: it may have at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    let lower = password.to_lowercase();
    let name = normalise_name(name);
    let local = name.split_once('@').map(|(local, _)| local).unwrap_or(&name);
    for part in [name.as_str(), local] {
        // A one- or two-letter name is inside too many good passwords to forbid.
        if part.chars().count() >= 3 && lower.contains(part) {
            return Err("the password must not contain the account name".to_string());
        }
    }
    Ok(())
}

/// The hasher: Argon2id, version 0x13, the crate's default parameters.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, Params::default())
}

/// An Argon2id hash of `password` with a fresh random salt, as a PHC string.
/// Fails only if the system's random source does.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| format!("the system's random source failed: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("the salt could not be encoded: {e}"))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("the password could not be hashed: {e}"))
}

/// Whether `password` matches `hash` (a PHC string from [`hash_password`],
/// verified with the parameters written in it). A hash that cannot be read
/// matches nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) if parsed.algorithm == Algorithm::Argon2id.ident() => {
            argon2().verify_password(password.as_bytes(), &parsed).is_ok()
        }
        _ => false,
    }
}

/// Whether `hash` is an Argon2id PHC string (what a store accepts, so a
/// password passed by mistake where its hash belongs is refused).
pub fn is_password_hash(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| parsed.algorithm == Algorithm::Argon2id.ident() && parsed.hash.is_some())
}

/// An Argon2id hash with the default parameters, of a password nobody
/// knows, for [`dummy_verify`].
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$gOL/9znPs0ppwyJUeSAOxQ$\
                          uMFL+mD1kmVcKwr0MfsCMKYblCphRdhAgN/D4yRogVY";

/// Spend what one [`verify_password`] spends, and match nothing: call it
/// when the account asked for does not exist (or cannot sign in), so that
/// the time taken does not tell.
pub fn dummy_verify() {
    let _ = verify_password(DUMMY_HASH, "schoolgate: no such account");
}

/// A new secret for a session token or a CSRF token: 256 bits from the
/// system's random source, as 43 characters of URL-safe base64 (fit for a
/// cookie or a form field, and never of the shape of a [`token_hash`], so a
/// store refuses a token passed where its hash belongs). Fails only if the
/// random source does (never falls back to anything guessable).
pub fn new_token() -> Result<String, String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("the system's random source failed: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What a store keeps of a session token: its SHA-256, as 64 lower-case
/// hex digits.
pub fn token_hash(token: &str) -> String {
    crate::quarantine::audit::hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `hash` has the shape [`token_hash`] gives.
pub fn is_token_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Compare two secrets (a CSRF token from a form with the session's) in
/// time that depends on their lengths only.
pub fn secrets_match(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(domains: &[&str]) -> Account {
        Account {
            name: "reviewer".into(),
            role: Role::Reviewer,
            domains: domains.iter().map(|d| d.to_string()).collect(),
            disabled: false,
            created_at: 0,
        }
    }

    #[test]
    fn roles_round_trip_and_say_what_they_may_do() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(" DPO ".parse::<Role>(), Ok(Role::Dpo));
        let error = "admin".parse::<Role>().expect_err("not a role");
        assert_eq!(error, "\"admin\" is not a role (dpo, reviewer or auditor)");
        let table = [
            (Role::Dpo, true, true),
            (Role::Reviewer, true, false),
            (Role::Auditor, false, false),
        ];
        for (role, decide, download) in table {
            assert_eq!((role.may_decide(), role.may_download()), (decide, download), "{role}");
        }
        assert_eq!(serde_json::to_string(&Role::Dpo).expect("json"), "\"dpo\"");
    }

    #[test]
    fn domain_limits_follow_the_sender() {
        let cases: &[(&str, &[&str], &str, bool)] = &[
            ("no limits: everyone", &[], "a@anywhere.example", true),
            ("no limits: the null sender", &[], "", true),
            ("the domain itself", &["oakfield.sch.uk"], "t@oakfield.sch.uk", true),
            ("case ignored", &["Oakfield.SCH.uk"], "T@OAKFIELD.sch.UK", true),
            ("a subdomain", &["oakfield.sch.uk"], "t@staff.oakfield.sch.uk", true),
            ("brackets", &["oakfield.sch.uk"], "<t@oakfield.sch.uk>", true),
            ("a trailing dot", &["oakfield.sch.uk"], "t@oakfield.sch.uk.", true),
            (
                "a second listed domain",
                &["elm.sch.uk", "oak.sch.uk"],
                "t@oak.sch.uk",
                true,
            ),
            ("another school", &["oakfield.sch.uk"], "t@elm.sch.uk", false),
            (
                "a name that only ends alike",
                &["field.sch.uk"],
                "t@oakfield.sch.uk",
                false,
            ),
            (
                "a parent domain",
                &["staff.oakfield.sch.uk"],
                "t@oakfield.sch.uk",
                false,
            ),
            ("the null sender", &["oakfield.sch.uk"], "", false),
            ("no domain at all", &["oakfield.sch.uk"], "postmaster", false),
            (
                "the domain as a local part",
                &["oakfield.sch.uk"],
                "oakfield.sch.uk@evil.example",
                false,
            ),
            ("non-ASCII does not panic", &["é.example"], "t@xé.example", false),
        ];
        for (name, domains, sender, seen) in cases {
            assert_eq!(account(domains).may_see(sender), *seen, "{name}");
        }
    }

    #[test]
    fn account_names() {
        for good in [
            "dpo",
            "j.smith",
            "j_smith-2",
            "j.smith@oakfield.sch.uk",
            "a",
            &"a".repeat(64),
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "DPO", "j smith", "jsmith!", "jöhn", &"a".repeat(65), "a/b", "a\n"] {
            let error = check_name(bad).expect_err(bad);
            assert!(error.contains("is not an account name"), "{error}");
        }
        assert_eq!(normalise_name("  J.Smith@Oakfield.SCH.uk "), "j.smith@oakfield.sch.uk");
    }

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            normalise_domains(&["@Oakfield.SCH.uk.", "oakfield.sch.uk", "elm.sch.uk"]),
            Ok(vec!["oakfield.sch.uk".to_string(), "elm.sch.uk".to_string()])
        );
        assert_eq!(normalise_domains::<&str>(&[]), Ok(vec![]));
        for bad in ["", "oakfield", "oak field.sch.uk", "-oak.sch.uk", "oak..sch.uk"] {
            let error = normalise_domains(&[bad]).expect_err(bad);
            assert!(error.contains("is not a domain name"), "{error}");
        }
    }

    #[test]
    fn the_password_rule_says_which_part_failed() {
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("long enough", "dpo", "correct horse battery", None),
            ("exactly twelve", "dpo", "abcdefghijkl", None),
            ("eleven", "dpo", "abcdefghijk", Some("too short")),
            ("twelve bytes but six characters", "dpo", "éééééé", Some("too short")),
            ("empty", "dpo", "", Some("too short")),
            ("the name inside", "jsmith", "my-JSmith-password", Some("account name")),
            (
                "the address's local part",
                "j.smith@oakfield.sch.uk",
                "j.smith2026-autumn",
                Some("account name"),
            ),
            (
                "the whole address",
                "jo@oakfield.sch.uk",
                "x jo@oakfield.sch.uk",
                Some("account name"),
            ),
            ("a short name is allowed inside", "jo", "join the dots, please", None),
            ("too long", "dpo", &"x".repeat(257), Some("too long")),
            ("as long as allowed", "dpo", &"x".repeat(256), None),
        ];
        for (case, name, password, failure) in cases {
            let result = check_password(name, password);
            match failure {
                None => assert_eq!(result, Ok(()), "{case}"),
                Some(why) => {
                    let error = result.expect_err(case);
                    assert!(error.contains(why), "{case}: {error}");
                    assert!(
                        password.is_empty() || !error.contains(password),
                        "{case}: the error repeats the password"
                    );
                }
            }
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hashed");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(is_password_hash(&hash));
        assert!(!hash.contains("correct horse battery"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password(&hash, ""));
        let again = hash_password("correct horse battery").expect("hashed");
        assert_ne!(hash, again, "a fresh salt each time");
        for not_a_hash in ["", "correct horse battery", "$argon2id$v=19$broken", "$5$salt$hash"] {
            assert!(!verify_password(not_a_hash, "correct horse battery"), "{not_a_hash}");
            assert!(!is_password_hash(not_a_hash), "{not_a_hash}");
        }
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        assert_eq!(dummy.algorithm, Algorithm::Argon2id.ident());
        let (params, default) = (Params::try_from(&dummy).expect("params"), Params::default());
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost()),
            "the dummy hash must use the parameters real hashes get"
        );
        assert_eq!(dummy.hash.map(|h| h.len()), Some(Params::DEFAULT_OUTPUT_LEN));
        dummy_verify();
    }

    #[test]
    fn tokens_are_random_and_kept_as_hashes() {
        let a = new_token().expect("token");
        let b = new_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{a}"
        );
        assert!(!is_token_hash(&a), "a token never looks like its hash: {a}");
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_token_hash(&token_hash(&a)));
        assert_ne!(token_hash(&a), a);
        assert!(!is_token_hash(
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        ));
        assert!(!is_token_hash("abc"));
        assert!(secrets_match(&a, &a.to_string()));
        assert!(!secrets_match(&a, &b));
        assert!(!secrets_match(&a, &a[..42]));
        assert!(!secrets_match(&a, ""));
    }
}
