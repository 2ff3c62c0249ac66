//! Lowering declarations to the [`Program`]: clause checks, value checks, typed expressions,
//! dependency order, lints.

use super::check::{no_basket, quantity_value, Checker, Reference, Scope};
use super::clauses::{self, ClauseSet};
use super::lints;
use super::names::{NameKind, Names};
use super::order::{dependency_order, Edge};
use crate::program::*;
use crate::schema;
use crate::types::Type;
use puntos_dsl::ast::{self, ClauseKind, Decl, DeclKind, Expr, File, Ident, Quantity, Unit};
use puntos_dsl::{did_you_mean, Code, Diagnostic, Span};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Lowers `file`; returns the program when every part could be built (the caller discards it if
/// any diagnostic is an error). `syntax_ok` is false when some declarations failed to parse, in
/// which case diagnostics that would only echo that failure are left out.
pub(crate) fn lower(
    source: &puntos_dsl::SourceFile,
    file: &File,
    diagnostics: &mut Vec<Diagnostic>,
    syntax_ok: bool,
) -> Option<Program> {
    let names = Names::collect(&file.decls, diagnostics);
    let mut lowering = Lowering {
        names: &names,
        currency: String::new(),
        diagnostics,
        requirements: Requirements::default(),
        basket_segments: Vec::new(),
        used_segments: Vec::new(),
    };
    let header = lowering.header(&file.decls, syntax_ok);
    let segments = lowering.segments(&file.decls);
    let tiers = lowering.tiers(&file.decls);
    let (mut rules, rule_edges) = lowering.rules(&file.decls);
    let mut promotions = lowering.promotions(&file.decls);
    let coupons = lowering.coupons(&file.decls);
    let offers = lowering.offers(&file.decls);
    let redemption = lowering.redemption(&file.decls);

    let (segments, segment_edges) = segments;
    let segment_names: Vec<String> = segments.iter().map(|(s, _)| s.name.clone()).collect();
    let segment_order = dependency_order(
        segment_names.len(),
        &segment_edges,
        &segment_names,
        "segment",
        lowering.diagnostics,
    );
    let rule_names: Vec<String> = rules.iter().map(|r| r.name.to_string()).collect();
    let rule_order = dependency_order(
        rule_names.len(),
        &rule_edges,
        &rule_names,
        "rule",
        lowering.diagnostics,
    );

    // A segment whose only use is a reference with an error (a misspelt name, an audience that
    // failed) would look unused; the warning waits until the file has no errors.
    let has_errors = lowering.diagnostics.iter().any(Diagnostic::is_error);
    if syntax_ok && !has_errors {
        for (index, (segment, span)) in segments.iter().enumerate() {
            if !lowering.used_segments.get(index).copied().unwrap_or(false) {
                lowering
                    .diagnostics
                    .push(lints::unused_segment(&segment.name, *span));
            }
        }
    }

    // Renumber references to follow dependency order.
    let segment_new = inverse(&segment_order);
    let rule_new = inverse(&rule_order);
    let mut segments: Vec<Segment> = reorder(
        segments.into_iter().map(|(s, _)| s).collect(),
        &segment_order,
    );
    rules = reorder(rules, &rule_order);
    let mut remap =
        |e: &mut CompiledExpr| e.edit(|typed| remap_expr(typed, &segment_new, &rule_new));
    for s in &mut segments {
        remap(&mut s.condition);
    }
    let mut tiers = tiers;
    for t in &mut tiers {
        remap(&mut t.qualify);
    }
    for r in &mut rules {
        remap_accrual(r, &mut remap, &rule_new);
    }
    for p in &mut promotions {
        remap_accrual(&mut p.accrual, &mut remap, &rule_new);
        for a in &mut p.audience {
            *a = segment_new.get(*a).copied().unwrap_or(*a);
        }
    }
    let mut coupons = coupons;
    for c in &mut coupons {
        c.audience
            .iter_mut()
            .for_each(|a| *a = segment_new.get(*a).copied().unwrap_or(*a));
        c.condition.iter_mut().for_each(&mut remap);
        remap(&mut c.discount);
        c.discount_max.iter_mut().for_each(&mut remap);
    }
    let mut offers = offers;
    for o in &mut offers {
        o.audience
            .iter_mut()
            .for_each(|a| *a = segment_new.get(*a).copied().unwrap_or(*a));
        o.condition.iter_mut().for_each(&mut remap);
        o.filter.iter_mut().for_each(&mut remap);
    }
    promotions.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.accrual.name.cmp(&b.accrual.name))
    });

    let requirements = lowering.requirements;
    let header = header?;
    let program = Program {
        name: header.name.into(),
        currency: header.currency.into(),
        timezone: header.timezone?,
        points: header.points,
        effective_from: header.effective_from,
        events: names.events.keys().cloned().collect(),
        segments,
        tiers,
        rules,
        promotions,
        coupons,
        offers,
        redemption,
        requirements,
        source: std::sync::Arc::new(source.clone()),
    };
    if syntax_ok {
        lints::overlapping_exclusive(&program, diagnostics);
    }
    Some(program)
}

fn inverse(order: &[usize]) -> Vec<usize> {
    let mut new = vec![0; order.len()];
    for (position, old) in order.iter().enumerate() {
        if let Some(slot) = new.get_mut(*old) {
            *slot = position;
        }
    }
    new
}

fn reorder<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

fn remap_accrual(a: &mut Accrual, remap: &mut impl FnMut(&mut CompiledExpr), rule_new: &[usize]) {
    a.condition.iter_mut().for_each(&mut *remap);
    remap(&mut a.earn.amount);
    if let Some(Some(filter)) = &mut a.earn.per_item {
        remap(filter);
    }
    for d in &mut a.depends_on {
        *d = rule_new.get(*d).copied().unwrap_or(*d);
    }
}

/// Rewrites segment and rule indexes in `e` from source order to dependency order.
fn remap_expr(e: &mut TypedExpr, segments: &[usize], rules: &[usize]) {
    match &mut e.kind {
        TypedKind::Segment(i) => *i = segments.get(*i).copied().unwrap_or(*i),
        TypedKind::RulePoints(i) => *i = rules.get(*i).copied().unwrap_or(*i),
        TypedKind::Const(_)
        | TypedKind::Field(_)
        | TypedKind::History(..)
        | TypedKind::DaysSinceLastPurchase => {}
        TypedKind::List(items) | TypedKind::Call(_, items) => items
            .iter_mut()
            .for_each(|i| remap_expr(i, segments, rules)),
        TypedKind::Unary(_, x) => remap_expr(x, segments, rules),
        TypedKind::Binary(_, a, b) | TypedKind::Compare(_, a, b) => {
            remap_expr(a, segments, rules);
            remap_expr(b, segments, rules);
        }
        TypedKind::In { value, list, .. } => {
            remap_expr(value, segments, rules);
            remap_expr(list, segments, rules);
        }
        TypedKind::Between {
            value, low, high, ..
        } => {
            remap_expr(value, segments, rules);
            remap_expr(low, segments, rules);
            remap_expr(high, segments, rules);
        }
        TypedKind::Aggregate { value, filter, .. } => {
            value
                .iter_mut()
                .for_each(|v| remap_expr(v, segments, rules));
            filter
                .iter_mut()
                .for_each(|f| remap_expr(f, segments, rules));
        }
    }
}

/// Whether a typed expression reads basket data directly.
fn reads_basket(e: &TypedExpr) -> bool {
    match &e.kind {
        TypedKind::Field(f) => f.needs_basket(),
        TypedKind::Aggregate { .. } => true,
        TypedKind::Const(_)
        | TypedKind::Segment(_)
        | TypedKind::RulePoints(_)
        | TypedKind::History(..)
        | TypedKind::DaysSinceLastPurchase => false,
        TypedKind::List(items) | TypedKind::Call(_, items) => items.iter().any(reads_basket),
        TypedKind::Unary(_, x) => reads_basket(x),
        TypedKind::Binary(_, a, b) | TypedKind::Compare(_, a, b) => {
            reads_basket(a) || reads_basket(b)
        }
        TypedKind::In { value, list, .. } => reads_basket(value) || reads_basket(list),
        TypedKind::Between {
            value, low, high, ..
        } => reads_basket(value) || reads_basket(low) || reads_basket(high),
    }
}

struct Header {
    name: String,
    currency: String,
    timezone: Option<chrono_tz::Tz>,
    points: PointsSettings,
    effective_from: Option<Moment>,
}

struct Lowering<'a> {
    names: &'a Names,
    currency: String,
    diagnostics: &'a mut Vec<Diagnostic>,
    requirements: Requirements,
    basket_segments: Vec<bool>,
    used_segments: Vec<bool>,
}

/// The declarations whose name is the first of that name (duplicates were reported already).
fn primary<'d>(decls: &'d [Decl], names: &Names, keyword: &str) -> Vec<&'d Decl> {
    decls
        .iter()
        .filter(|d| d.keyword() == keyword)
        .filter(|d| match d.name() {
            Some(name) => names
                .items
                .get(&name.name)
                .is_some_and(|(_, span)| *span == name.span),
            None => true,
        })
        .collect()
}

impl Lowering<'_> {
    fn checker(&mut self, allow_rule_refs: bool, context: String) -> Checker<'_> {
        Checker {
            names: self.names,
            currency: &self.currency,
            diagnostics: self.diagnostics,
            requirements: &mut self.requirements,
            references: Vec::new(),
            basket_segments: &self.basket_segments,
            allow_rule_refs,
            context,
        }
    }

    fn mark_used(&mut self, references: &[Reference]) {
        for r in references {
            if let Reference::Segment(i, _) = r {
                if let Some(used) = self.used_segments.get_mut(*i) {
                    *used = true;
                }
            }
        }
    }

    // ------------------------------------------------------------ program header

    fn header(&mut self, decls: &[Decl], syntax_ok: bool) -> Option<Header> {
        let programs: Vec<&Decl> = decls.iter().filter(|d| d.keyword() == "program").collect();
        let Some(first) = programs.first() else {
            if syntax_ok {
                let at = decls
                    .first()
                    .map_or(Span::new(0, 0), |d| Span::new(d.span.start, d.span.start));
                self.diagnostics.push(
                    Diagnostic::new(Code::MissingProgram, at, "the file has no `program` header")
                        .with_label("expected `program \"Name\" { ... }` before this")
                        .with_help("start the file with `program \"My Club\" { currency RUB  timezone \"Europe/Moscow\" }`"),
                );
            }
            return None;
        };
        for extra in programs.iter().skip(1) {
            self.diagnostics
                .push(singleton_again("program", extra.span, first.span));
        }
        let DeclKind::Program { name, clauses } = &first.kind else {
            return None;
        };
        let set = ClauseSet::new("program", clauses, self.diagnostics);
        let header_span = Span::new(first.span.start, name.span.end);
        let currency = set
            .require(
                "currency",
                "program",
                header_span,
                "currency RUB",
                self.diagnostics,
            )
            .and_then(|c| match &c.kind {
                ClauseKind::Currency(code) => self.currency_code(code),
                _ => None,
            });
        self.currency = currency.clone().unwrap_or_default();
        let timezone = set
            .require(
                "timezone",
                "program",
                header_span,
                "timezone \"Europe/Moscow\"",
                self.diagnostics,
            )
            .and_then(|c| match &c.kind {
                ClauseKind::Timezone(zone) => self.timezone(zone),
                _ => None,
            });
        let mut points = PointsSettings::default();
        if let Some(ast::Clause {
            kind: ClauseKind::Points(settings),
            ..
        }) = set.get("points")
        {
            let inner = ClauseSet::new("points", settings, self.diagnostics);
            if let Some(ast::Clause {
                kind: ClauseKind::Precision(q),
                ..
            }) = inner.get("precision")
            {
                match clauses::count(q, "points precision", 0, &mut Vec::new()).filter(|p| *p <= 8)
                {
                    Some(p) => points.precision = p,
                    None => self.diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidPrecision,
                            q.span,
                            "points precision must be a whole number from 0 to 8",
                        )
                        .with_label(format!("`{}` decimal places", q.value))
                        .with_help("write `precision 0` for whole points"),
                    ),
                }
            }
            if let Some(ast::Clause {
                kind: ClauseKind::Rounding { mode, scope },
                ..
            }) = inner.get("rounding")
            {
                points.mode = *mode;
                if let Some(scope) = scope {
                    points.scope = *scope;
                }
            }
        }
        let effective_from = match set.get("effective from") {
            Some(ast::Clause {
                kind: ClauseKind::EffectiveFrom(m),
                ..
            }) => Some(*m),
            _ => None,
        };
        Some(Header {
            name: name.value.clone(),
            currency: currency?,
            timezone,
            points,
            effective_from,
        })
    }

    fn currency_code(&mut self, code: &Ident) -> Option<String> {
        if schema::CURRENCIES.contains(&code.name.as_str()) {
            return Some(code.name.clone());
        }
        let upper = code.name.to_uppercase();
        if let Some(successor) = schema::currency_successor(&code.name) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::UnknownCurrency,
                    code.span,
                    format!("`{}` is no longer an ISO 4217 currency code", code.name),
                )
                .with_label("withdrawn currency")
                .with_help(format!(
                    "`{upper}` was replaced by `{successor}`: write `currency {successor}`"
                )),
            );
            return None;
        }
        let mut d = Diagnostic::new(
            Code::UnknownCurrency,
            code.span,
            format!("`{}` is not an ISO 4217 currency code", code.name),
        )
        .with_label("unknown currency");
        if schema::CURRENCIES.contains(&upper.as_str()) {
            d = d.with_help(format!("currency codes are upper case: `{upper}`"));
        } else if let Some(s) = did_you_mean(&upper, schema::CURRENCIES.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diagnostics.push(d);
        None
    }

    fn timezone(&mut self, zone: &ast::StringLit) -> Option<chrono_tz::Tz> {
        if let Ok(tz) = chrono_tz::Tz::from_str(&zone.value) {
            return Some(tz);
        }
        let mut d = Diagnostic::new(
            Code::UnknownTimezone,
            zone.span,
            format!("`{}` is not a time zone of the IANA database", zone.value),
        )
        .with_label("unknown time zone");
        d = match did_you_mean(
            &zone.value,
            chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
        ) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("write a zone such as `Europe/Moscow` or `America/New_York`"),
        };
        self.diagnostics.push(d);
        None
    }

    // ------------------------------------------------------------ segments and tiers

    fn segments(&mut self, decls: &[Decl]) -> (Vec<(Segment, Span)>, Vec<Edge>) {
        let decls = primary(decls, self.names, "segment");
        self.basket_segments = vec![false; decls.len()];
        self.used_segments = vec![false; decls.len()];
        let mut segments = Vec::new();
        let mut edges = Vec::new();
        for (index, decl) in decls.iter().enumerate() {
            let DeclKind::Segment {
                name,
                title,
                condition,
            } = &decl.kind
            else {
                continue;
            };
            let mut checker = self.checker(false, "a segment".to_string());
            let typed = checker.expect_bool(condition, Scope::BASKET, "a segment");
            let references = std::mem::take(&mut checker.references);
            lints::constant_condition(&typed, self.diagnostics);
            for r in &references {
                if let Reference::Segment(to, span) = r {
                    edges.push(Edge {
                        from: index,
                        to: *to,
                        span: *span,
                    });
                }
            }
            self.mark_used(&references);
            if let Some(b) = self.basket_segments.get_mut(index) {
                *b = reads_basket(&typed);
            }
            segments.push((
                Segment {
                    name: name.name.as_str().into(),
                    title: title.as_ref().map(|t| t.value.clone()),
                    condition: CompiledExpr::new(typed),
                },
                name.span,
            ));
        }
        // A segment that reads a basket-reading segment reads the basket too.
        loop {
            let mut changed = false;
            for edge in &edges {
                if self.basket_segments.get(edge.to).copied().unwrap_or(false)
                    && !self.basket_segments.get(edge.from).copied().unwrap_or(true)
                {
                    if let Some(b) = self.basket_segments.get_mut(edge.from) {
                        *b = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        (segments, edges)
    }

    fn tiers(&mut self, decls: &[Decl]) -> Vec<Tier> {
        let mut tiers: Vec<(Tier, Span)> = Vec::new();
        for decl in primary(decls, self.names, "tier") {
            let DeclKind::Tier {
                name,
                title,
                rank,
                clauses,
            } = &decl.kind
            else {
                continue;
            };
            let set = ClauseSet::new("tier", clauses, self.diagnostics);
            let rank_ok = clauses::count(rank, "a tier's rank", 0, self.diagnostics).is_some();
            if let Some((_, other)) = tiers.iter().find(|(t, _)| t.rank == rank.value) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateTierRank,
                        rank.span,
                        format!("two tiers have rank {}", rank.value),
                    )
                    .with_label("this rank")
                    .with_secondary(*other, "is already taken here")
                    .with_help("give each tier its own rank; higher ranks are better tiers"),
                );
            }
            let qualify = set
                .require(
                    "qualify when",
                    "tier",
                    name.span,
                    "qualify when spend(last 12 months) >= 10000 RUB",
                    self.diagnostics,
                )
                .and_then(|c| match &c.kind {
                    ClauseKind::Qualify(e) => Some(e),
                    _ => None,
                })
                .map(|e| {
                    let mut checker = self.checker(false, "tier qualification".to_string());
                    let typed = checker.expect_bool(e, Scope::NO_BASKET, "a tier's qualification");
                    let refs = std::mem::take(&mut checker.references);
                    self.mark_used(&refs);
                    lints::constant_condition(&typed, self.diagnostics);
                    typed
                });
            let keep = match set.get("keep") {
                Some(ast::Clause {
                    kind: ClauseKind::Keep(q),
                    ..
                }) => clauses::duration(
                    q,
                    "how long a tier is kept",
                    "remove the `keep` clause for a tier held only while the customer qualifies",
                    self.diagnostics,
                ),
                _ => None,
            };
            if let (Some(qualify), true) = (qualify, rank_ok) {
                tiers.push((
                    Tier {
                        name: name.name.as_str().into(),
                        title: title.as_ref().map(|t| t.value.clone()),
                        rank: rank.value,
                        qualify: CompiledExpr::new(qualify),
                        keep,
                    },
                    rank.span,
                ));
            }
        }
        tiers.sort_by_key(|t| t.0.rank);
        tiers.into_iter().map(|(t, _)| t).collect()
    }

    // ------------------------------------------------------------ rules and promotions

    fn event(&mut self, ident: &Ident) -> Option<String> {
        let known = schema::BUILTIN_EVENTS.contains(&ident.name.as_str())
            || self.names.events.contains_key(&ident.name);
        if known {
            return Some(ident.name.clone());
        }
        let candidates = schema::BUILTIN_EVENTS
            .iter()
            .copied()
            .chain(self.names.events.keys().map(String::as_str));
        let mut d = Diagnostic::new(
            Code::UnknownEvent,
            ident.span,
            format!("there is no event `{}`", ident.name),
        )
        .with_label("unknown event");
        d = match did_you_mean(&ident.name, candidates) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!(
                "the built-in events are {}; declare others with `event {}`",
                schema::BUILTIN_EVENTS
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                ident.name
            )),
        };
        self.diagnostics.push(d);
        None
    }

    fn accrual(
        &mut self,
        keyword: &str,
        decl: &Decl,
        name: &Ident,
        title: &Option<ast::StringLit>,
        set: &ClauseSet<'_>,
    ) -> Option<(Accrual, Vec<Reference>)> {
        let event = set
            .require("on", keyword, name.span, "on purchase", self.diagnostics)
            .and_then(|c| match &c.kind {
                ClauseKind::On(e) => self.event(e),
                _ => None,
            });
        let basket = event
            .as_deref()
            .is_none_or(|e| schema::BASKET_EVENTS.contains(&e));
        let context = format!("a `{}` transaction", event.as_deref().unwrap_or("?"));
        let scope = Scope {
            item: false,
            basket,
        };
        let earn_clause = set.require(
            "earn",
            keyword,
            name.span,
            "earn 10 points",
            self.diagnostics,
        );
        let mut checker = self.checker(true, context.clone());
        let condition = match set.get("when") {
            Some(ast::Clause {
                kind: ClauseKind::When(e),
                ..
            }) => Some(checker.expect_bool(e, scope, "a `when` condition")),
            _ => None,
        };
        let earn = match earn_clause.map(|c| &c.kind) {
            Some(ClauseKind::Earn {
                amount,
                points_suffix,
                for_each,
            }) => {
                let item_scope = Scope {
                    item: for_each.is_some() && basket,
                    basket,
                };
                if let Some(fe) = for_each {
                    if !basket {
                        checker
                            .diagnostics
                            .push(no_basket(fe.span, &context, "`for each item`"));
                    }
                }
                let per_item = for_each.as_ref().map(|fe| {
                    fe.filter
                        .as_ref()
                        .map(|f| checker.expect_bool(f, item_scope, "a line filter"))
                });
                let amount = earn_amount(&mut checker, amount, *points_suffix, item_scope);
                Some(Earn {
                    amount: CompiledExpr::new(amount),
                    per_item: per_item.map(|filter| filter.map(CompiledExpr::new)),
                })
            }
            _ => None,
        };
        let references = std::mem::take(&mut checker.references);
        drop(checker);
        if let Some(c) = &condition {
            lints::constant_condition(c, self.diagnostics);
        }
        self.mark_used(&references);
        let pending = match set.get("pending") {
            Some(
                c @ ast::Clause {
                    kind: ClauseKind::Pending(q),
                    ..
                },
            ) => clauses::duration(
                q,
                "the pending period",
                "remove the `pending` clause to make points available at once",
                self.diagnostics,
            )
            .map(|d| (d, c.span)),
            _ => None,
        };
        let expire = match set.get("expire after") {
            Some(
                c @ ast::Clause {
                    kind: ClauseKind::ExpireAfter(q),
                    ..
                },
            ) => clauses::duration(
                q,
                "the expiry period",
                "remove the `expire after` clause for points that never expire",
                self.diagnostics,
            )
            .map(|d| (d, c.span)),
            _ => None,
        };
        if let (Some((p, p_span)), Some((e, e_span))) = (pending, expire) {
            if p.approx_days() >= e.approx_days() {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::PendingOutlivesExpiry,
                        p_span,
                        "points would expire before their pending period ends",
                    )
                    .with_label("pending this long")
                    .with_secondary(e_span, "but expiring this soon")
                    .with_help("make the expiry period longer than the pending period"),
                );
            }
        }
        let cap = match set.get("cap") {
            Some(ast::Clause {
                kind: ClauseKind::Cap { amount, period },
                ..
            }) => clauses::points(
                amount,
                "a cap",
                "remove the `cap` clause for no cap, or write one such as `cap 1000 points per month`",
                self.diagnostics,
            )
            .map(|points| Cap {
                points,
                period: *period,
            }),
            _ => None,
        };
        let rounding = match set.get("rounding") {
            Some(
                c @ ast::Clause {
                    kind: ClauseKind::Rounding { mode, scope },
                    ..
                },
            ) => {
                if *scope == Some(ast::RoundingScope::Transaction) {
                    self.diagnostics.push(
                        Diagnostic::new(Code::ClauseNotAllowed, c.span, format!("a {keyword} cannot round per transaction"))
                            .with_label("per transaction")
                            .with_help("round per transaction in the program's `points { ... }` block; here write `per item` or `per rule`"),
                    );
                }
                Some(Rounding {
                    mode: *mode,
                    scope: *scope,
                })
            }
            _ => None,
        };
        let mut depends_on: Vec<RuleId> = references
            .iter()
            .filter_map(|r| match r {
                Reference::Rule(i, _) => Some(*i),
                Reference::Segment(..) => None,
            })
            .collect();
        depends_on.sort_unstable();
        depends_on.dedup();
        Some((
            Accrual {
                name: name.name.as_str().into(),
                title: title.as_ref().map(|t| t.value.clone()),
                event: event?,
                condition: condition.map(CompiledExpr::new),
                earn: earn?,
                pending: pending.map(|(d, _)| d),
                expire_after: expire.map(|(d, _)| d),
                cap,
                rounding,
                depends_on,
                span: Span::new(decl.span.start, name.span.end),
            },
            references,
        ))
    }

    fn rules(&mut self, decls: &[Decl]) -> (Vec<Rule>, Vec<Edge>) {
        let mut rules = Vec::new();
        let mut edges = Vec::new();
        for decl in primary(decls, self.names, "rule") {
            let DeclKind::Block {
                name,
                title,
                clauses,
                ..
            } = &decl.kind
            else {
                continue;
            };
            let set = ClauseSet::new("rule", clauses, self.diagnostics);
            let index = match self.names.get(&name.name) {
                Some(NameKind::Rule(i)) => i,
                _ => continue,
            };
            let Some((rule, references)) = self.accrual("rule", decl, name, title, &set) else {
                // Keep indexes aligned with the name table: a placeholder is never exposed,
                // since the program is discarded when any rule failed.
                rules.push(placeholder_rule(name));
                continue;
            };
            for r in references {
                if let Reference::Rule(to, span) = r {
                    edges.push(Edge {
                        from: index,
                        to,
                        span,
                    });
                }
            }
            rules.push(rule);
        }
        (rules, edges)
    }

    fn promotions(&mut self, decls: &[Decl]) -> Vec<Promotion> {
        let mut promotions = Vec::new();
        for decl in primary(decls, self.names, "promotion") {
            let DeclKind::Block {
                name,
                title,
                clauses,
                ..
            } = &decl.kind
            else {
                continue;
            };
            let set = ClauseSet::new("promotion", clauses, self.diagnostics);
            let accrual = self.accrual("promotion", decl, name, title, &set);
            let valid = self.window(&set, "promotion");
            let audience = self.audience(&set);
            let budget = match set.get("budget") {
                Some(ast::Clause {
                    kind: ClauseKind::Budget(q),
                    ..
                }) => self.budget(q),
                _ => None,
            };
            let limit = self.limit(&set);
            let priority = match set.get("priority") {
                Some(ast::Clause {
                    kind: ClauseKind::Priority(q),
                    ..
                }) => clauses::count(q, "a priority", 0, self.diagnostics)
                    .map(Decimal::from)
                    .unwrap_or_default(),
                _ => Decimal::ZERO,
            };
            let stacking = match set.get("stacking") {
                Some(ast::Clause {
                    kind: ClauseKind::Stacking(s),
                    ..
                }) => self.stacking(s),
                _ => Stacking::WithAll,
            };
            if let Some((accrual, _)) = accrual {
                promotions.push(Promotion {
                    accrual,
                    valid,
                    audience,
                    budget,
                    limit,
                    priority,
                    stacking,
                });
            }
        }
        promotions
    }

    fn window(&mut self, set: &ClauseSet<'_>, keyword: &str) -> Window {
        let Some(clause) = set.get("valid") else {
            return Window::default();
        };
        let ClauseKind::Valid(validity) = &clause.kind else {
            return Window::default();
        };
        let window = match validity {
            ast::Validity::Range(from, until) => Window {
                from: Some(*from),
                until: Some(*until),
            },
            ast::Validity::From(from) => Window {
                from: Some(*from),
                until: None,
            },
            ast::Validity::Until(until) => Window {
                from: None,
                until: Some(*until),
            },
            ast::Validity::For(_) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::ClauseNotAllowed, clause.span, format!("a {keyword} is valid between dates, not for a duration"))
                        .with_label("a duration")
                        .with_help("write `valid 2026-12-01 .. 2026-12-31`; `valid 30 days` (after issue) is for coupons"),
                );
                return Window::default();
            }
        };
        if lints::window_is_empty(&window) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::EmptyWindow,
                    clause.span,
                    "this window ends before it starts",
                )
                .with_label("end before start")
                .with_help("write the earlier moment first: `valid START .. END`"),
            );
        }
        window
    }

    fn audience(&mut self, set: &ClauseSet<'_>) -> Vec<SegmentId> {
        let Some(ast::Clause {
            kind: ClauseKind::Audience(names),
            ..
        }) = set.get("audience")
        else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        for ident in names {
            match self.names.get(&ident.name) {
                Some(NameKind::Segment(i)) => {
                    ids.push(i);
                    if let Some(u) = self.used_segments.get_mut(i) {
                        *u = true;
                    }
                }
                Some(other) => {
                    let mut d = Diagnostic::new(
                        Code::NotASegment,
                        ident.span,
                        format!("`{}` is a {}, not a segment", ident.name, other.describe()),
                    )
                    .with_label(format!("a {}", other.describe()));
                    if matches!(other, NameKind::Tier(_)) {
                        d = d.with_help(format!(
                            "for a tier write `when customer.tier >= {}`",
                            ident.name
                        ));
                    }
                    self.diagnostics.push(d);
                }
                None => {
                    let segments = self
                        .names
                        .items
                        .iter()
                        .filter(|(_, (k, _))| matches!(k, NameKind::Segment(_)))
                        .map(|(n, _)| n.as_str());
                    let mut d = Diagnostic::new(
                        Code::UnknownName,
                        ident.span,
                        format!("there is no segment `{}`", ident.name),
                    )
                    .with_label("unknown segment");
                    if let Some(s) = did_you_mean(&ident.name, segments) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    self.diagnostics.push(d);
                }
            }
        }
        ids
    }

    fn budget(&mut self, q: &Quantity) -> Option<Budget> {
        match &q.unit {
            Some(Unit::Points) => {
                clauses::points(q, "a budget", BUDGET_HELP, self.diagnostics).map(Budget::Points)
            }
            Some(Unit::Currency(_)) => {
                let ok = self.checker(false, String::new()).check_currency(q);
                if q.value <= Decimal::ZERO {
                    self.diagnostics
                        .push(clauses::must_be_positive(q, "a budget", BUDGET_HELP));
                    return None;
                }
                ok.then_some(Budget::Money(q.value))
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ExpectedPoints,
                        q.span,
                        "a budget must be an amount of points or money",
                    )
                    .with_label("neither points nor money")
                    .with_help(format!("write `{} points`", q.value)),
                );
                None
            }
        }
    }

    fn limit(&mut self, set: &ClauseSet<'_>) -> Option<Limit> {
        match set.get("limit") {
            Some(ast::Clause {
                kind: ClauseKind::Limit { count, period },
                ..
            }) => clauses::count(count, "a limit", 1, self.diagnostics).map(|count| Limit {
                count,
                period: *period,
            }),
            _ => None,
        }
    }

    fn stacking(&mut self, stacking: &ast::Stacking) -> Stacking {
        match stacking {
            ast::Stacking::Exclusive => Stacking::Exclusive,
            ast::Stacking::WithAll => Stacking::WithAll,
            ast::Stacking::BestOf(group) => Stacking::BestOf(group.name.clone()),
            ast::Stacking::With(names) => {
                for ident in names {
                    match self.names.get(&ident.name) {
                        Some(NameKind::Promotion(_)) => {}
                        Some(other) => {
                            let kind = other.describe();
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::UnknownPromotion,
                                    ident.span,
                                    format!(
                                        "`{}` is a {kind}, and `stacking with` lists promotions",
                                        ident.name
                                    ),
                                )
                                .with_label(format!("a {kind}"))
                                .with_help(format!(
                                    "remove `{}` from the list: stacking decides only which promotions combine",
                                    ident.name
                                )),
                            );
                        }
                        None => {
                            let promotions = self
                                .names
                                .items
                                .iter()
                                .filter(|(_, (k, _))| matches!(k, NameKind::Promotion(_)))
                                .map(|(n, _)| n.as_str());
                            let mut d = Diagnostic::new(
                                Code::UnknownPromotion,
                                ident.span,
                                format!("there is no promotion `{}`", ident.name),
                            )
                            .with_label("unknown promotion");
                            let declared: Vec<&str> = promotions.collect();
                            if let Some(s) = did_you_mean(&ident.name, declared.iter().copied()) {
                                d = d.with_help(format!("did you mean `{s}`?"));
                            } else if !declared.is_empty() {
                                let list: Vec<String> =
                                    declared.iter().map(|n| format!("`{n}`")).collect();
                                d = d.with_note(format!(
                                    "the declared promotions are {}",
                                    list.join(", ")
                                ));
                            }
                            self.diagnostics.push(d);
                        }
                    }
                }
                Stacking::With(names.iter().map(|n| n.name.clone()).collect())
            }
        }
    }

    // ------------------------------------------------------------ coupons, offers, redemption

    fn coupons(&mut self, decls: &[Decl]) -> Vec<Coupon> {
        let mut coupons = Vec::new();
        let mut fixed_codes: Vec<(String, Span)> = Vec::new();
        for decl in primary(decls, self.names, "coupon") {
            let DeclKind::Block {
                name,
                title,
                clauses,
                ..
            } = &decl.kind
            else {
                continue;
            };
            let set = ClauseSet::new("coupon", clauses, self.diagnostics);
            let codes = set
                .require(
                    "codes",
                    "coupon",
                    name.span,
                    "codes unique 8 prefix \"W-\"",
                    self.diagnostics,
                )
                .and_then(|c| match &c.kind {
                    ClauseKind::Codes(batch) => self.code_batch(batch, &mut fixed_codes),
                    _ => None,
                });
            let issue_on = match set.get("issue on") {
                Some(ast::Clause {
                    kind: ClauseKind::IssueOn(e),
                    ..
                }) => self.event(e),
                _ => None,
            };
            let (valid, valid_for) = match set.get("valid") {
                Some(ast::Clause {
                    kind: ClauseKind::Valid(ast::Validity::For(q)),
                    ..
                }) => (
                    Window::default(),
                    clauses::duration(
                        q,
                        "a coupon's validity",
                        "write how long a coupon lasts after it is issued, such as `valid 30 days`",
                        self.diagnostics,
                    ),
                ),
                _ => (self.window(&set, "coupon"), None),
            };
            let audience = self.audience(&set);
            let discount_clause = set.require(
                "discount",
                "coupon",
                name.span,
                "discount 10% of basket.total max 300 RUB",
                self.diagnostics,
            );
            let mut checker = self.checker(false, "a coupon".to_string());
            let condition = match set.get("when") {
                Some(ast::Clause {
                    kind: ClauseKind::When(e),
                    ..
                }) => Some(checker.expect_bool(e, Scope::BASKET, "a `when` condition")),
                _ => None,
            };
            let (discount, discount_max) = match discount_clause.map(|c| &c.kind) {
                Some(ClauseKind::Discount { amount, max }) => {
                    let d = money_expr(
                        &mut checker,
                        amount,
                        "a discount",
                        "a discount of 100% makes the basket free; write at most `100%`",
                    );
                    let m = max.as_ref().and_then(|m| {
                        money_expr(
                            &mut checker,
                            m,
                            "a discount's maximum",
                            "a maximum of 100% is the whole amount; write at most `100%`",
                        )
                    });
                    (d, m)
                }
                _ => (None, None),
            };
            let refs = std::mem::take(&mut checker.references);
            drop(checker);
            self.mark_used(&refs);
            if let Some(c) = &condition {
                lints::constant_condition(c, self.diagnostics);
            }
            let uses = match set.get("uses") {
                Some(ast::Clause {
                    kind: ClauseKind::Uses(q),
                    ..
                }) => clauses::count(q, "uses per customer", 1, self.diagnostics),
                _ => None,
            };
            if let (Some(codes), Some(discount)) = (codes, discount) {
                coupons.push(Coupon {
                    name: name.name.as_str().into(),
                    title: title.as_ref().map(|t| t.value.clone()),
                    codes,
                    issue_on,
                    valid,
                    valid_for,
                    audience,
                    condition: condition.map(CompiledExpr::new),
                    discount: CompiledExpr::new(discount),
                    discount_max: discount_max.map(CompiledExpr::new),
                    uses_per_customer: uses,
                });
            }
        }
        coupons
    }

    fn code_batch(
        &mut self,
        batch: &ast::CodeBatch,
        seen: &mut Vec<(String, Span)>,
    ) -> Option<CodeBatch> {
        match batch {
            ast::CodeBatch::Unique { length, prefix } => {
                let len = clauses::count(length, "a code length", 1, &mut Vec::new());
                let len = match len.filter(|l| (4..=32).contains(l)) {
                    Some(l) => l,
                    None => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidCodeBatch,
                                length.span,
                                "unique codes need from 4 to 32 random characters",
                            )
                            .with_label(format!("`{}` characters", length.value))
                            .with_help(
                                "8 characters give about a trillion codes: `codes unique 8`",
                            ),
                        );
                        return None;
                    }
                };
                let prefix_text = prefix.as_ref().map_or(String::new(), |p| p.value.clone());
                if let Some(p) = prefix {
                    if !valid_code_text(&p.value) || p.value.len() > 16 {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidCodeBatch,
                                p.span,
                                "a code prefix is at most 16 letters, digits, `-` or `_`",
                            )
                            .with_label(if p.value.len() > 16 && valid_code_text(&p.value) {
                                "too long"
                            } else {
                                "cannot be typed at a till"
                            })
                            .with_help(if p.value.is_empty() {
                                "remove `prefix \"\"` for codes without a prefix".to_string()
                            } else {
                                code_text_help(&p.value, 16, "W-")
                            }),
                        );
                        return None;
                    }
                }
                Some(CodeBatch::Unique {
                    length: len,
                    prefix: prefix_text,
                })
            }
            ast::CodeBatch::Fixed(codes) => {
                let mut out = Vec::new();
                for code in codes {
                    if !valid_code_text(&code.value) || code.value.len() > 64 {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidCodeBatch,
                                code.span,
                                "a coupon code is 1 to 64 letters, digits, `-` or `_`",
                            )
                            .with_label(if code.value.len() > 64 && valid_code_text(&code.value) {
                                "too long"
                            } else {
                                "cannot be typed at a till"
                            })
                            .with_help(code_text_help(
                                &code.value,
                                64,
                                "SUMMER-26",
                            )),
                        );
                        continue;
                    }
                    let key = code.value.to_uppercase();
                    if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DuplicateCouponCode,
                                code.span,
                                format!("the code `{}` is given twice", code.value),
                            )
                            .with_label("given again here")
                            .with_secondary(*first, "first given here")
                            .with_note("codes are matched without regard to case"),
                        );
                        continue;
                    }
                    seen.push((key, code.span));
                    out.push(code.value.clone());
                }
                Some(CodeBatch::Fixed(out))
            }
        }
    }

    fn offers(&mut self, decls: &[Decl]) -> Vec<Offer> {
        let mut offers = Vec::new();
        for decl in primary(decls, self.names, "offer") {
            let DeclKind::Block {
                name,
                title,
                clauses,
                ..
            } = &decl.kind
            else {
                continue;
            };
            let set = ClauseSet::new("offer", clauses, self.diagnostics);
            let valid = self.window(&set, "offer");
            let audience = self.audience(&set);
            let limit = self.limit(&set);
            let deal = match (set.get("buy"), set.get("cheapest of")) {
                (Some(_), Some(second)) => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateClause,
                            second.span,
                            "an offer has one deal, `buy` or `cheapest of`",
                        )
                        .with_label("a second deal")
                        .with_help("declare a second offer for the second deal"),
                    );
                    None
                }
                (Some(c), None) | (None, Some(c)) => Some(c),
                (None, None) => {
                    self.diagnostics.push(
                        Diagnostic::new(Code::MissingClause, name.span, "this offer has no deal")
                            .with_label("`buy` or `cheapest of` missing")
                            .with_help("add a line such as `buy 2 get 1 free where item.category = \"vitamins\"`"),
                    );
                    None
                }
            };
            let mut shape_reward_filter = None;
            let mut checker = self.checker(false, "an offer".to_string());
            let condition = match set.get("when") {
                Some(ast::Clause {
                    kind: ClauseKind::When(e),
                    ..
                }) => Some(checker.expect_bool(e, Scope::BASKET, "a `when` condition")),
                _ => None,
            };
            let item_scope = Scope {
                item: true,
                basket: true,
            };
            if let Some(clause) = deal {
                let (shape, reward, filter) = match &clause.kind {
                    ClauseKind::Buy {
                        buy,
                        get,
                        reward,
                        filter,
                    } => {
                        let b = clauses::count(buy, "units bought", 1, checker.diagnostics);
                        let g = clauses::count(get, "units rewarded", 1, checker.diagnostics);
                        (
                            b.zip(g).map(|(buy, get)| OfferShape::BuyGet { buy, get }),
                            reward,
                            filter,
                        )
                    }
                    ClauseKind::Cheapest { of, reward, filter } => {
                        let n = clauses::count(of, "a group size", 2, checker.diagnostics);
                        (n.map(|of| OfferShape::CheapestOf { of }), reward, filter)
                    }
                    _ => (None, &ast::OfferReward::Free, &None),
                };
                let reward = match reward {
                    ast::OfferReward::Free => Some(OfferReward::Free),
                    ast::OfferReward::PercentOff(q) => clauses::percent(
                        q,
                        "a discount",
                        "a discount of 100% makes the item free; write at most `100%`",
                        checker.diagnostics,
                    )
                    .map(OfferReward::PercentOff),
                };
                let filter = filter
                    .as_ref()
                    .map(|f| checker.expect_bool(f, item_scope, "a line filter"));
                shape_reward_filter = shape.zip(reward).map(|(s, r)| (s, r, filter));
            }
            let refs = std::mem::take(&mut checker.references);
            drop(checker);
            self.mark_used(&refs);
            let once = set.get("once").is_some();
            if let Some((shape, reward, filter)) = shape_reward_filter {
                offers.push(Offer {
                    name: name.name.as_str().into(),
                    title: title.as_ref().map(|t| t.value.clone()),
                    valid,
                    audience,
                    condition: condition.map(CompiledExpr::new),
                    shape,
                    reward,
                    filter: filter.map(CompiledExpr::new),
                    once,
                    limit,
                });
            }
        }
        offers
    }

    fn redemption(&mut self, decls: &[Decl]) -> Option<Redemption> {
        let blocks: Vec<&Decl> = decls
            .iter()
            .filter(|d| d.keyword() == "redemption")
            .collect();
        let first = blocks.first()?;
        for extra in blocks.iter().skip(1) {
            self.diagnostics
                .push(singleton_again("redemption", extra.span, first.span));
        }
        let DeclKind::Redemption { clauses } = &first.kind else {
            return None;
        };
        let set = ClauseSet::new("redemption", clauses, self.diagnostics);
        let head = Span::new(first.span.start, first.span.start + "redemption".len());
        let example = format!(
            "rate 1 point = 1 {}",
            if self.currency.is_empty() {
                "RUB"
            } else {
                &self.currency
            }
        );
        let rate = set
            .require("rate", "redemption block", head, &example, self.diagnostics)
            .and_then(|c| match &c.kind {
                ClauseKind::Rate { points, money } => {
                    let help = format!("write a rate such as `{example}`");
                    let p = clauses::points(
                        points,
                        "the points side of the rate",
                        &help,
                        self.diagnostics,
                    );
                    let m = self.money_quantity(money, "the money side of the rate", &help);
                    p.zip(m)
                }
                _ => None,
            });
        let mut checker = self.checker(false, "a redemption".to_string());
        let max = match set.get("max") {
            Some(ast::Clause {
                kind: ClauseKind::Max(e),
                ..
            }) => {
                let typed = checker.check(e, Scope::BASKET);
                match typed.ty {
                    Type::Money | Type::Points | Type::Unknown => {
                        check_percent_share(
                            e,
                            "the redeemable share",
                            "paying 100% with points makes the basket free; write at most `100%`",
                            checker.diagnostics,
                        );
                        Some(typed)
                    }
                    other => {
                        checker.diagnostics.push(
                            Diagnostic::new(Code::ExpectedMoney, e.span, format!("the most a basket may be paid with points is money or points, not {other}"))
                                .with_label(format!("this is {other}"))
                                .with_help("write `max 30% of basket.total`"),
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        drop(checker);
        let min_balance = match set.get("min balance") {
            Some(ast::Clause {
                kind: ClauseKind::MinBalance(q),
                ..
            }) => clauses::points(
                q,
                "the minimum balance",
                "remove the `min balance` clause to let any balance be spent",
                self.diagnostics,
            ),
            _ => None,
        };
        let step = match set.get("step") {
            Some(ast::Clause {
                kind: ClauseKind::Step(q),
                ..
            }) => clauses::points(
                q,
                "the step",
                "remove the `step` clause to let any number of points be spent",
                self.diagnostics,
            ),
            _ => None,
        };
        let order = match set.get("order") {
            Some(ast::Clause {
                kind: ClauseKind::Order(o),
                ..
            }) => *o,
            _ => ast::LotOrder::Oldest,
        };
        let (rate_points, rate_money) = rate?;
        Some(Redemption {
            rate_points,
            rate_money,
            max: max.map(CompiledExpr::new),
            min_balance,
            step,
            order,
        })
    }

    fn money_quantity(&mut self, q: &Quantity, what: &str, zero_help: &str) -> Option<Decimal> {
        if !matches!(q.unit, Some(Unit::Currency(_))) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ExpectedMoney,
                    q.span,
                    format!("{what} must be an amount of money"),
                )
                .with_label("not money")
                .with_help(format!(
                    "write `{} {}`",
                    q.value,
                    if self.currency.is_empty() {
                        "RUB"
                    } else {
                        &self.currency
                    }
                )),
            );
            return None;
        }
        if !self.checker(false, String::new()).check_currency(q) {
            return None;
        }
        if q.value <= Decimal::ZERO {
            self.diagnostics
                .push(clauses::must_be_positive(q, what, zero_help));
            return None;
        }
        Some(q.value)
    }
}

const BUDGET_HELP: &str =
    "remove the `budget` clause for no budget, or write one such as `budget 100000 points`";

fn singleton_again(keyword: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateSingleton,
        Span::new(span.start, span.start + keyword.len()),
        format!("a file has one `{keyword}` block, and this is a second"),
    )
    .with_label("second block")
    .with_secondary(
        Span::new(first.start, first.start + keyword.len()),
        "first block",
    )
    .with_help("merge the two blocks")
}

fn valid_code_text(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// How to write `text` as code text: "use letters, digits, `-` or `_`, such as `"W-"`".
fn code_text_help(text: &str, max: usize, fallback: &str) -> String {
    let latin = if text.chars().any(|c| c.is_alphabetic() && !c.is_ascii()) {
        "Latin "
    } else {
        ""
    };
    format!(
        "use {latin}letters, digits, `-` or `_`, such as `\"{}\"`",
        code_text_like(text, max, fallback)
    )
}

/// `text` made into valid code text of at most `max` characters (other characters become `-`),
/// or `fallback` when little of it is left.
fn code_text_like(text: &str, max: usize, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out: String = out.chars().take(max).collect();
    if out.chars().any(|c| c.is_ascii_alphanumeric()) {
        out
    } else {
        fallback.to_string()
    }
}

/// A placeholder kept in a failed rule's slot so rule indexes stay aligned until the program is
/// discarded; see `Lowering::rules`.
fn placeholder_rule(name: &Ident) -> Rule {
    Accrual {
        name: name.name.as_str().into(),
        title: None,
        event: String::new(),
        condition: None,
        earn: Earn {
            amount: CompiledExpr::new(TypedExpr {
                kind: TypedKind::Const(Value::Points(Decimal::ZERO)),
                ty: Type::Points,
                span: name.span,
            }),
            per_item: None,
        },
        pending: None,
        expire_after: None,
        cap: None,
        rounding: None,
        depends_on: Vec::new(),
        span: name.span,
    }
}

/// The amount of an `earn` clause: Points, or a Number made Points by the `points` suffix.
fn earn_amount(
    checker: &mut Checker<'_>,
    amount: &Expr,
    points_suffix: bool,
    scope: Scope,
) -> TypedExpr {
    let mut typed = checker.check(amount, scope);
    match (&typed.ty, points_suffix) {
        (Type::Points | Type::Unknown, _) => {}
        (Type::Number, true) => typed.ty = Type::Points,
        (Type::Money, _) => {
            let currency = checker.example_currency().to_string();
            let help = match &amount.kind {
                ast::ExprKind::Quantity(q) if matches!(q.unit, Some(Unit::Currency(_))) => {
                    format!("write `earn {} points`", q.value)
                }
                _ => format!(
                    "points are not money: to earn points in proportion to an amount, divide it by money, such as `earn floor(basket.total / 10 {currency}) points` (1 point per 10 {currency})"
                ),
            };
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::PointsMoneyMix,
                    amount.span,
                    "points cannot be earned as an amount of money",
                )
                .with_label("this is Money")
                .with_help(help),
            );
        }
        (Type::Number, false) => {
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::ExpectedPoints,
                    amount.span,
                    "`earn` needs points, and this is a plain number",
                )
                .with_label("Number")
                .with_help(format!(
                    "write `earn {} points`",
                    puntos_dsl::format_expr(amount)
                )),
            );
        }
        (other, _) => {
            let other = other.clone();
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::ExpectedPoints,
                    amount.span,
                    format!("`earn` needs points, not {other}"),
                )
                .with_label(format!("this is {other}"))
                .with_help("write an amount of points such as `50 points` or `50% of base`"),
            );
        }
    }
    typed
}

/// A Money-typed expression (discounts), with a hint when a bare percentage is written;
/// `over_help` is the help for a share above 100%.
fn money_expr(
    checker: &mut Checker<'_>,
    e: &Expr,
    what: &str,
    over_help: &str,
) -> Option<TypedExpr> {
    let typed = checker.check(e, Scope::BASKET);
    match typed.ty {
        Type::Money => {
            check_percent_share(e, what, over_help, checker.diagnostics);
            Some(typed)
        }
        Type::Unknown => None,
        ref other => {
            let help = if *other == Type::Percent {
                format!(
                    "say what it is a percentage of: `{} of basket.total`",
                    puntos_dsl::format_expr(e)
                )
            } else {
                format!(
                    "write an amount such as `300 {}`",
                    checker.example_currency()
                )
            };
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::ExpectedMoney,
                    e.span,
                    format!("{what} must be an amount of money, not {other}"),
                )
                .with_label(format!("this is {other}"))
                .with_help(help),
            );
            None
        }
    }
}

/// `N% of x` used as a share of a basket must have N in (0, 100].
fn check_percent_share(e: &Expr, what: &str, over_help: &str, diagnostics: &mut Vec<Diagnostic>) {
    if let ast::ExprKind::Binary {
        op: ast::BinaryOp::Of,
        lhs,
        ..
    } = &e.kind
    {
        if let ast::ExprKind::Quantity(q) = &lhs.kind {
            if quantity_value(q).1 == Type::Percent {
                clauses::percent_in_range(q.value, q.span, what, over_help, diagnostics);
            }
        }
    }
}
