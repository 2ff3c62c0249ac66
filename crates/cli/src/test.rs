//! `puntos test`: run scenario files (`*.test.toml`) like a test runner.

use crate::input::expand_matching;
use crate::programs::load_versions;
use puntos::scenario::{self, mentioned};
use puntos::Versions;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scenario files end with this.
const SUFFIX: &str = ".test.toml";

/// Runs every scenario under `paths` whose name contains `filter`, writing each step to
/// `record` when given; returns the exit code (0 all passed, 1 a scenario failed or a file could
/// not be used, 2 bad arguments).
pub fn run(paths: &[PathBuf], filter: Option<&str>, record: Option<&Path>) -> u8 {
    let mut recorder = match record.map(Recorder::create).transpose() {
        Ok(r) => r,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
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
        // The programs that may decide, to name the one that did in the record.
        let sources = match recorder {
            Some(_) => Recorder::sources(&program_paths),
            None => Vec::new(),
        };
        for s in &parsed.scenarios {
            if filter.is_some_and(|f| !s.name.contains(f)) {
                continue;
            }
            let outcome = match recorder.as_mut() {
                Some(recorder) => scenario::run_recorded(versions, s, &mut |context, decided| {
                    recorder.step(&sources, versions, context, decided);
                }),
                None => scenario::run(versions, s),
            };
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
    if let Some(recorder) = recorder {
        if let Err(message) = recorder.finish() {
            eprintln!("error: {message}");
            return 2;
        }
    }
    u8::from(failed > 0)
}

/// Writes `--record`: a JSON line per step, `{program, context, decision}` or `{program,
/// context, error, field}`, `program` naming the file of the version that decided.
struct Recorder {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    failed: Option<String>,
}

impl Recorder {
    fn create(path: &Path) -> Result<Recorder, String> {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        Ok(Recorder {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            failed: None,
        })
    }

    /// Each program file of a scenario file with its compiled program, to tell which decided.
    fn sources(paths: &[PathBuf]) -> Vec<(PathBuf, puntos::Program)> {
        paths
            .iter()
            .filter_map(|path| {
                let versions = load_versions(std::slice::from_ref(path)).ok()?;
                let program = versions.programs().next()?.clone();
                Some((path.clone(), program))
            })
            .collect()
    }

    fn step(
        &mut self,
        sources: &[(PathBuf, puntos::Program)],
        versions: &Versions,
        context: &puntos::Context,
        decided: &Result<puntos::Decision, puntos::EvalError>,
    ) {
        let deciding = versions.at(context.transaction.time);
        let program = sources
            .iter()
            .find(|(_, p)| Some(p) == deciding)
            .map(|(path, _)| path.display().to_string());
        // Written field by field, so the decision keeps the key order of its own JSON (a
        // `json!` object would sort it): the WebAssembly build's is compared byte for byte.
        let line = match decided {
            Ok(decision) => format!(
                "{{\"program\":{},\"context\":{},\"decision\":{}}}",
                json(&program),
                json(context),
                json(decision)
            ),
            Err(error) => format!(
                "{{\"program\":{},\"context\":{},\"error\":{},\"field\":{}}}",
                json(&program),
                json(context),
                json(&error.to_string()),
                json(&error.field())
            ),
        };
        use std::io::Write as _;
        if self.failed.is_none() {
            if let Err(e) = writeln!(self.out, "{line}") {
                self.failed = Some(format!("cannot write `{}`: {e}", self.path.display()));
            }
        }
    }

    fn finish(mut self) -> Result<(), String> {
        use std::io::Write as _;
        if let Some(message) = self.failed {
            return Err(message);
        }
        self.out
            .flush()
            .map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))
    }
}

/// Whether `path` is a scenario file.
fn is_scenario(path: &Path) -> bool {
    path.to_string_lossy().ends_with(SUFFIX)
}

/// `value` as compact JSON (`null` if it cannot be written).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
