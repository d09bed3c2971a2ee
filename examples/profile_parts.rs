use schoolgate::RulePack;
use schoolgate::detect::{PartReport, Scanner, TextFormat};
use std::time::Instant;
fn main() {
    let prose = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";
    let mut text = String::new();
    while text.len() < 10_000_000 {
        text.push_str(prose);
    }
    let pack = RulePack::builtin();
    let scanner = Scanner::new(&pack, &Default::default());
    for _ in 0..2 {
        let t = Instant::now();
        let mut r = PartReport::default();
        scanner.scan(&text, TextFormat::Plain, &mut r);
        println!("scan total {:?}", t.elapsed());
        let t = Instant::now();
        let n = scanner.profile_shapes(&text);
        println!("shapes {:?} ({n})", t.elapsed());
        let t = Instant::now();
        let n = scanner.profile_keywords(&text);
        println!("keywords {:?} ({n})", t.elapsed());
        let t = Instant::now();
        let n = scanner.profile_tables(&text);
        println!("tables {:?} ({n})", t.elapsed());
    }
}
