use schoolgate::{Engine, Envelope, RulePack, config::Config};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let raw = std::fs::read(&path).unwrap();
    let engine = Engine::new(
        Config::load(std::path::Path::new("fixtures/schoolgate.toml")).unwrap(),
        RulePack::builtin(),
    );
    let env = Envelope {
        sender: Some("s.jenkins@oakfield.sch.uk".into()),
        recipients: vec!["parent@gmail.com".into()],
    };
    let t = std::time::Instant::now();
    let n = 3000;
    for _ in 0..n {
        let (v, r) = engine.inspect_and_rewrite(&raw, &env, true);
        std::hint::black_box((v, r.map(|r| r.new_body(&raw))));
    }
    println!("{:?} per message", t.elapsed() / n);
}
