use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::meta::Regex;
use schoolgate::RulePack;
use std::time::Instant;
fn main() {
    let prose = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";
    let mut text = String::new();
    while text.len() < 10_000_000 {
        text.push_str(prose);
    }
    let pack = RulePack::builtin();
    let mut terms: Vec<String> = vec![];
    for l in pack.keywords.values() {
        for t in l {
            terms.push(t.text.to_lowercase());
        }
    }
    for l in pack.context.values() {
        for t in l {
            terms.push(t.text.to_lowercase());
        }
    }
    for t in &pack.sensitive_subject {
        terms.push(t.text.to_lowercase());
    }
    for t in &pack.password_phrases {
        terms.push(t.clone());
    }
    terms.sort();
    terms.dedup();
    println!("{} terms", terms.len());
    for (name, kind, mk, overlap) in [
        ("dfa-overlap", Some(AhoCorasickKind::DFA), MatchKind::Standard, true),
        ("dfa-ll", Some(AhoCorasickKind::DFA), MatchKind::LeftmostLongest, false),
        ("dfa-std", Some(AhoCorasickKind::DFA), MatchKind::Standard, false),
        (
            "nfa-ll",
            Some(AhoCorasickKind::ContiguousNFA),
            MatchKind::LeftmostLongest,
            false,
        ),
    ] {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(mk)
            .kind(kind)
            .build(&terms)
            .unwrap();
        let t = Instant::now();
        let n = if overlap {
            ac.find_overlapping_iter(&text).count()
        } else {
            ac.find_iter(&text).count()
        };
        println!("{name}: {:?} {n}", t.elapsed());
    }
    // lowercase copy + case-sensitive
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&terms)
        .unwrap();
    let t = Instant::now();
    let lower = text.to_ascii_lowercase();
    let n = ac.find_iter(&lower).count();
    println!("lowercopy+dfa: {:?} {n}", t.elapsed());
    let b = r"(?-u:\b)";
    let pats = vec![format!(r"{b}[0-9]{{2,}}(?:[ -][0-9]{{2,}})*{b}")];
    let re = Regex::new_many(&pats).unwrap();
    let t = Instant::now();
    println!("numrun {:?} {}", t.elapsed(), re.find_iter(&text).count());
}
