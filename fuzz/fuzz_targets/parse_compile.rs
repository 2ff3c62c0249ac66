//! Any bytes in: decoding, parsing, compiling and formatting must never panic, and formatting a
//! file that parsed must give a file that parses to the same layout.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = puntos_dsl::decode_source(data) else {
        return;
    };
    let source = puntos_dsl::SourceFile::new("fuzz.pts", text);
    let _ = puntos::compile(&source);
    let parsed = puntos_dsl::parse(text);
    if parsed.diagnostics.is_empty() {
        let formatted = puntos_dsl::format(&parsed.file);
        let reparsed = puntos_dsl::parse(&formatted);
        assert!(reparsed.diagnostics.is_empty(), "formatted output does not parse:\n{formatted}");
        assert_eq!(puntos_dsl::format(&reparsed.file), formatted, "format is not idempotent");
    }
});
