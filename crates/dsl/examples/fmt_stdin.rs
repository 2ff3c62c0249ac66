//! Formats stdin to stdout (a debugging aid for the grammar).
use std::io::Read;
fn main() {
    let mut s = String::new();
    let _ = std::io::stdin().read_to_string(&mut s);
    let parsed = puntos_dsl::parse(&s);
    let file = puntos_dsl::SourceFile::new("stdin", s.clone());
    eprint!(
        "{}",
        puntos_dsl::render::render_human(&file, &parsed.diagnostics, false)
    );
    print!("{}", puntos_dsl::format(&parsed.file));
}
