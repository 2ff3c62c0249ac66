//! Two `puntos apply` processes on one SQLite file: the same transactions applied by both at
//! once end exactly as one process alone (each applied once, each refusal the same), the
//! journal stays one chain, and reusing ids for other content is refused row by row.

mod workdir;

use std::path::Path;
use std::process::{Command, Stdio};

fn puntos(dir: &Path, args: &[&str]) -> std::process::Child {
    let spawned = Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    assert!(spawned.is_ok(), "the puntos binary did not start");
    spawned.unwrap_or_else(|_| unreachable!())
}

fn output(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap_or_else(|_| unreachable!());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn two_processes_apply_each_transaction_once_and_refuse_conflicting_ids() {
    let workdir::Workdir {
        dir,
        population,
        lines,
    } = workdir::prepare("processes", 30, 2);
    // The same ids with other content: every purchase's amount changed.
    let altered: Vec<String> = lines
        .iter()
        .map(|l| l.replace("\"unit_price\":\"", "\"unit_price\":\"1"))
        .collect();
    std::fs::write(dir.join("altered.jsonl"), altered.join("\n"))
        .unwrap_or_else(|_| unreachable!());

    // One process alone, for reference.
    let alone = puntos(
        &dir,
        &[
            "apply",
            "--db",
            "alone.db",
            "program.pts",
            "--input",
            "tx.jsonl",
        ],
    );
    let alone = output(alone);

    // Two at once on one file.
    let a = puntos(
        &dir,
        &[
            "apply",
            "--db",
            "shared.db",
            "program.pts",
            "--input",
            "tx.jsonl",
        ],
    );
    let b = puntos(
        &dir,
        &[
            "apply",
            "--db",
            "shared.db",
            "program.pts",
            "--input",
            "tx.jsonl",
        ],
    );
    let (a, b) = (output(a), output(b));
    let count = |text: &str, what: &str| -> u64 {
        text.split(',')
            .find_map(|part| {
                let part = part.trim();
                part.strip_prefix(what)
                    .and_then(|n| n.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    };
    let rows = lines.len() as u64;
    let applied_alone = count(&alone, "applied");
    assert!(applied_alone > 100, "{alone}");
    // Each process saw every row once: applied, already applied by the other, or refused.
    for out in [&a, &b] {
        let seen = count(out, "applied") + count(out, "already applied") + count(out, "rejected");
        assert_eq!(seen, rows, "{out}");
    }
    // Together they applied each transaction once, and refused what one process alone refuses
    // (a refusal is remembered, so the other process does not decide it again later).
    let together = count(&a, "applied") + count(&b, "applied");
    assert_eq!(together, applied_alone, "{a}\n{b}");
    assert_eq!(
        count(&a, "rejected") + count(&b, "rejected"),
        2 * count(&alone, "rejected"),
        "{a}\n{b}"
    );
    let verified = output(puntos(&dir, &["verify", "--db", "shared.db"]));
    assert!(verified.contains("journal intact"), "{verified}");
    // The accounts end as after one process alone.
    for customer in &population.customers {
        let shared = output(puntos(
            &dir,
            &["account", "--db", "shared.db", &customer.id],
        ));
        let single = output(puntos(&dir, &["account", "--db", "alone.db", &customer.id]));
        assert_eq!(shared, single, "{}", customer.id);
    }

    // Reusing the ids for other content: every altered row is refused as a conflict.
    let conflicts = output(puntos(
        &dir,
        &[
            "apply",
            "--db",
            "shared.db",
            "program.pts",
            "--input",
            "altered.jsonl",
        ],
    ));
    let rejects =
        std::fs::read_to_string(dir.join("altered.jsonl.rejects.jsonl")).unwrap_or_default();
    // Only an id that was refused before may take new content; every other is a conflict.
    assert!(
        count(&conflicts, "applied") <= count(&alone, "rejected"),
        "{conflicts}"
    );
    assert!(
        rejects.contains("was applied before with different content"),
        "{rejects}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
