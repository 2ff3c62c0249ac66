//! Dependency order between declarations of one kind, and the cycles that prevent it.

use puntos_dsl::{Code, Diagnostic, Span};

/// An edge: `from` reads `to`, at `span` inside `from`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub from: usize,
    pub to: usize,
    pub span: Span,
}

/// Orders `count` nodes so each comes after the nodes it reads; ties keep source order.
/// Each cycle is reported once (with a label on each edge of it) and its nodes are appended at
/// the end so the caller can go on.
pub(crate) fn dependency_order(
    count: usize,
    edges: &[Edge],
    names: &[String],
    kind: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<usize> {
    let mut indegree = vec![0usize; count];
    for edge in edges {
        if let Some(d) = indegree.get_mut(edge.from) {
            *d += 1;
        }
    }
    let mut order = Vec::with_capacity(count);
    let mut done = vec![false; count];
    // Kahn's algorithm, always taking the lowest ready index so the order is stable.
    loop {
        let next = (0..count)
            .find(|&i| !done.get(i).copied().unwrap_or(true) && indegree.get(i) == Some(&0));
        let Some(node) = next else { break };
        if let Some(d) = done.get_mut(node) {
            *d = true;
        }
        order.push(node);
        for edge in edges.iter().filter(|e| e.to == node) {
            if let Some(d) = indegree.get_mut(edge.from) {
                *d = d.saturating_sub(1);
            }
        }
    }
    if order.len() < count {
        report_cycles(count, edges, names, kind, &done, diagnostics);
        order.extend((0..count).filter(|&i| !done.get(i).copied().unwrap_or(true)));
    }
    order
}

fn report_cycles(
    count: usize,
    edges: &[Edge],
    names: &[String],
    kind: &str,
    done: &[bool],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut reported = vec![false; count];
    for start in 0..count {
        if done.get(start).copied().unwrap_or(true) || reported.get(start).copied().unwrap_or(true)
        {
            continue;
        }
        // Walk the first remaining edge from each node until a node repeats: that is a cycle.
        let mut path: Vec<Edge> = Vec::new();
        let mut node = start;
        let cycle = loop {
            if let Some(pos) = path.iter().position(|e| e.from == node) {
                break path.get(pos..).map(<[Edge]>::to_vec).unwrap_or_default();
            }
            let Some(edge) = edges
                .iter()
                .find(|e| e.from == node && !done.get(e.to).copied().unwrap_or(true))
            else {
                break Vec::new();
            };
            path.push(*edge);
            node = edge.to;
        };
        if cycle.is_empty()
            || cycle
                .iter()
                .any(|e| reported.get(e.from).copied().unwrap_or(true))
        {
            continue;
        }
        for edge in &cycle {
            if let Some(r) = reported.get_mut(edge.from) {
                *r = true;
            }
        }
        let name = |i: usize| names.get(i).map_or("?", String::as_str);
        let chain: Vec<String> = cycle
            .iter()
            .map(|e| format!("`{}`", name(e.from)))
            .chain(cycle.first().map(|e| format!("`{}`", name(e.from))))
            .collect();
        let Some(first) = cycle.first() else { continue };
        let mut d = Diagnostic::new(
            Code::RuleCycle,
            first.span,
            if cycle.len() == 1 {
                format!("{kind} `{}` reads its own result", name(first.from))
            } else {
                format!(
                    "{kind}s depend on each other in a cycle: {}",
                    chain.join(" -> ")
                )
            },
        )
        .with_label(format!(
            "`{}` reads `{}` here",
            name(first.from),
            name(first.to)
        ));
        for edge in cycle.iter().skip(1) {
            d = d.with_secondary(
                edge.span,
                format!("`{}` reads `{}` here", name(edge.from), name(edge.to)),
            );
        }
        diagnostics.push(d.with_help(format!(
            "a {kind} can only read {kind}s that do not read it back"
        )));
    }
}
