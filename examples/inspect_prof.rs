use schoolgate::{Engine, Envelope, RulePack, config::Config};
fn main() {
    let prose = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";
    let mut m = String::from(
        "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    while m.len() < 10_000_000 {
        m.push_str(prose);
    }
    let engine = Engine::new(Config::default(), RulePack::builtin());
    for _ in 0..20 {
        let v = engine.inspect(m.as_bytes(), &Envelope::default());
        std::hint::black_box(v);
    }
}
