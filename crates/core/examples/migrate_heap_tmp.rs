#![allow(missing_docs, clippy::unwrap_used)]
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let settings = puntos::migrate::run::RunSettings::from_toml("expiry_months = 12\n").unwrap();
    let r = puntos::migrate::run::run(std::path::Path::new(&dir), &settings, &mut |_, _, _| {})
        .unwrap();
    println!("{}", r.plan.accounts);
}
