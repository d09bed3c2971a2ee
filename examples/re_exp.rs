use regex_automata::meta::Regex;
use schoolgate::detect::shapes::patterns;
use std::time::Instant;
fn main() {
    let prose = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";
    let mut text = String::new();
    while text.len() < 10_000_000 {
        text.push_str(prose);
    }
    let all = patterns();
    let run = |name: &str, pats: Vec<String>| {
        let re = Regex::new_many(&pats).unwrap();
        let t = Instant::now();
        let n = re.find_iter(&text).count();
        println!("{name}: {:?} {n}", t.elapsed());
    };
    run("all", all.iter().map(|p| p.1.clone()).collect());
    for i in 0..all.len() {
        run(
            &format!("without {:?}", all[i].0),
            all.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| p.1.clone())
                .collect(),
        );
    }
    for i in 0..all.len() {
        run(&format!("only {:?}", all[i].0), vec![all[i].1.clone()]);
    }
}
