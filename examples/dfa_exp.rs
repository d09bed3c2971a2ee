use std::time::Instant;
use regex_automata::{dfa::{dense, regex::Regex as DRegex}, MatchKind, util::syntax};
use regex_automata::meta::Regex;
use schoolgate::detect::shapes::patterns;
fn main() {
    let prose = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";
    let mut text = String::new();
    while text.len() < 10_000_000 { text.push_str(prose); }
    let pats: Vec<String> = patterns().into_iter().filter(|p| format!("{:?}", p.0) != "Email").map(|p| p.1).collect();
    let t = Instant::now();
    let re = DRegex::builder()
        .syntax(syntax::Config::new().unicode(true).utf8(true))
        .dense(dense::Config::new().match_kind(MatchKind::LeftmostFirst).minimize(false))
        .build_many(&pats).unwrap();
    println!("build {:?}, fwd {} bytes, rev {} bytes", t.elapsed(), re.forward().memory_usage(), re.reverse().memory_usage());
    let t = Instant::now();
    let n = re.find_iter(text.as_bytes()).count();
    println!("dense: {:?} {n}", t.elapsed());
    let m = Regex::new_many(&pats).unwrap();
    let t = Instant::now();
    let n = m.find_iter(&text).count();
    println!("meta: {:?} {n}", t.elapsed());
}
