//! The table of declared names: one namespace for segments, tiers, rules, promotions, coupons and
//! offers (events have their own, since expressions never read them).

use indexmap::IndexMap;
use puntos_dsl::ast::{BlockKeyword, Decl, DeclKind};
use puntos_dsl::{Code, Diagnostic, Span};

/// What a declared name refers to; the index counts declarations of that kind in source order
/// (tiers: in rank order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    Segment(usize),
    Tier(usize),
    Rule(usize),
    Promotion(usize),
    Coupon(usize),
    Offer(usize),
}

impl NameKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            NameKind::Segment(_) => "segment",
            NameKind::Tier(_) => "tier",
            NameKind::Rule(_) => "rule",
            NameKind::Promotion(_) => "promotion",
            NameKind::Coupon(_) => "coupon",
            NameKind::Offer(_) => "offer",
        }
    }
}

/// Declared names with where each is declared.
#[derive(Debug, Default)]
pub(crate) struct Names {
    pub items: IndexMap<String, (NameKind, Span)>,
    pub events: IndexMap<String, Span>,
}

impl Names {
    /// Collects names from `decls`, reporting duplicates. Tiers are numbered by rank.
    pub(crate) fn collect(decls: &[Decl], diagnostics: &mut Vec<Diagnostic>) -> Names {
        let mut names = Names::default();
        let mut counts = [0usize; 6];
        let mut tier_ranks: Vec<(rust_decimal::Decimal, String)> = decls
            .iter()
            .filter_map(|d| match &d.kind {
                DeclKind::Tier { name, rank, .. } => Some((rank.value, name.name.clone())),
                _ => None,
            })
            .collect();
        tier_ranks.sort();
        for decl in decls {
            let Some(name) = decl.name() else { continue };
            if let DeclKind::Event { .. } = decl.kind {
                if let Some(first) = names.events.get(&name.name) {
                    diagnostics.push(duplicate(&name.name, name.span, *first, "event"));
                } else {
                    names.events.insert(name.name.clone(), name.span);
                }
                continue;
            }
            let slot = match &decl.kind {
                DeclKind::Segment { .. } => 0,
                DeclKind::Tier { .. } => 1,
                DeclKind::Block { keyword, .. } => match keyword {
                    BlockKeyword::Rule => 2,
                    BlockKeyword::Promotion => 3,
                    BlockKeyword::Coupon => 4,
                    BlockKeyword::Offer => 5,
                },
                _ => continue,
            };
            if let Some((kind, first)) = names.items.get(&name.name) {
                diagnostics.push(duplicate(&name.name, name.span, *first, kind.describe()));
                continue;
            }
            let index = counts.get(slot).copied().unwrap_or(0);
            if let Some(count) = counts.get_mut(slot) {
                *count += 1;
            }
            let kind = match slot {
                0 => NameKind::Segment(index),
                1 => NameKind::Tier(
                    tier_ranks
                        .iter()
                        .position(|(_, n)| *n == name.name)
                        .unwrap_or(index),
                ),
                2 => NameKind::Rule(index),
                3 => NameKind::Promotion(index),
                4 => NameKind::Coupon(index),
                _ => NameKind::Offer(index),
            };
            names.items.insert(name.name.clone(), (kind, name.span));
        }
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<NameKind> {
        self.items.get(name).map(|(k, _)| *k)
    }
}

fn duplicate(name: &str, span: Span, first: Span, kind: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateName,
        span,
        format!("the name `{name}` is declared twice"),
    )
    .with_label("declared again here")
    .with_secondary(first, format!("first declared here as a {kind}"))
    .with_help("give each declaration its own name")
}
