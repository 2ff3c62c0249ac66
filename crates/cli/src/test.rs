//! `puntos test`: run scenario files (`*.test.toml`) like a test runner.

use crate::input::expand_matching;
use crate::programs::load_versions;
use puntos::scenario::{self, mentioned};
use puntos::Versions;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scenario files end with this.
const SUFFIX: &str = ".test.toml";

/// Runs every scenario under `paths` whose name contains `filter`; returns the exit code
/// (0 all passed, 1 a scenario failed or a file could not be used, 2 bad arguments).
pub fn run(paths: &[PathBuf], filter: Option<&str>) -> u8 {
    let files = match expand_matching(paths, is_scenario) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            eprintln!("error: no scenario file (`*{SUFFIX}`) found");
            return 2;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let mut programs: BTreeMap<Vec<PathBuf>, Option<Versions>> = BTreeMap::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        outln!("{}", file.display());
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| scenario::parse(&text));
        let parsed = match parsed {
            Ok(p) => p,
            Err(message) => {
                outln!("  FAILED  the file cannot be read: {message}");
                failed += 1;
                continue;
            }
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        let program_paths: Vec<PathBuf> = parsed.programs.iter().map(|p| dir.join(p)).collect();
        let versions = programs
            .entry(program_paths.clone())
            .or_insert_with(|| load_versions(&program_paths).ok());
        let Some(versions) = versions else {
            outln!("  FAILED  its program cannot be compiled");
            failed += 1;
            continue;
        };
        for s in &parsed.scenarios {
            if filter.is_some_and(|f| !s.name.contains(f)) {
                continue;
            }
            let outcome = scenario::run(versions, s);
            if outcome.passed() {
                passed += 1;
                outln!("  ok      {}", outcome.name);
                continue;
            }
            failed += 1;
            outln!("  FAILED  {}", outcome.name);
            for failure in &outcome.failures {
                outln!("          {failure}");
            }
            let involved: Vec<_> = outcome
                .trace
                .iter()
                .filter(|step| mentioned(&outcome.failures, &step.subject))
                .collect();
            let shown = if involved.is_empty() {
                outcome.trace.iter().filter(|step| step.applied).collect()
            } else {
                involved
            };
            if !shown.is_empty() {
                outln!("          trace:");
                for step in shown {
                    for line in step.explain().lines() {
                        outln!("          {line}");
                    }
                }
            }
        }
    }
    outln!("{passed} passed, {failed} failed");
    u8::from(failed > 0)
}

/// Whether `path` is a scenario file.
fn is_scenario(path: &Path) -> bool {
    path.to_string_lossy().ends_with(SUFFIX)
}
