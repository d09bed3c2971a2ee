use std::time::Instant;
use regex_automata::meta::Regex;
use schoolgate::detect::shapes::patterns;
use schoolgate::RulePack;
fn main() {
    let prose = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";
    let mut text = String::new();
    while text.len() < 10_000_000 { text.push_str(prose); }
    let pack = RulePack::builtin();
    let mut terms: Vec<String> = vec![];
    for l in pack.keywords.values() { for t in l { terms.push(t.text.to_lowercase()); } }
    for l in pack.context.values() { for t in l { terms.push(t.text.to_lowercase()); } }
    for t in &pack.sensitive_subject { terms.push(t.text.to_lowercase()); }
    for t in &pack.password_phrases { terms.push(t.clone()); }
    terms.sort_by_key(|t| std::cmp::Reverse(t.len())); terms.dedup();
    let kw = format!("(?i:{})", terms.iter().map(|t| regex_syntax_escape(t)).collect::<Vec<_>>().join("|"));
    let mut pats: Vec<String> = patterns().into_iter().map(|p| p.1).collect();
    for t in &terms { let b1 = if t.chars().next().unwrap().is_ascii_alphanumeric() {r"(?-u:\b)"} else {""}; let b2 = if t.chars().last().unwrap().is_ascii_alphanumeric() {r"(?-u:\b)"} else {""}; pats.push(format!("{b1}(?i:{}){b2}", regex_syntax_escape(t))); }
    let re = Regex::new_many(&pats).unwrap();
    for _ in 0..2 {
    let t = Instant::now();
    let n = re.find_iter(&text).count();
    println!("combo: {:?} {n}", t.elapsed());
    }
    let re = Regex::new(&kw).unwrap();
    let t = Instant::now();
    let n = re.find_iter(&text).count();
    println!("kw only: {:?} {n}", t.elapsed());
}
fn regex_syntax_escape(s: &str) -> String { let mut o = String::new(); for c in s.chars() { if "\\.+*?()|[]{}^$#&-~".contains(c) { o.push('\\'); } o.push(c); } o }
