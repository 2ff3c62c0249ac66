//! The canonical layout of a `.pts` file: one clause per line, two-space indent, one blank line
//! between declarations, minimal parentheses, every comment kept.
//!
//! Comments are placed by position: an own-line comment is printed on its own line before the
//! next item that follows it; a comment that trails code stays at the end of the line of the item
//! it trails. A comment inside a multi-line clause moves to its own line after the clause, which
//! is stable: formatting the output again changes nothing.

use crate::ast::*;
use std::fmt::Write as _;

const INDENT: &str = "  ";

/// Formats a parsed file in the canonical layout.
pub fn format(file: &File) -> String {
    let mut printer = Printer {
        out: String::new(),
        comments: &file.comments,
        next_comment: 0,
    };
    for (index, decl) in file.decls.iter().enumerate() {
        if index > 0 {
            printer.out.push('\n');
        }
        printer.own_line_comments_before(decl.span.start, 0);
        let next_start = file
            .decls
            .get(index + 1)
            .map_or(usize::MAX, |d| d.span.start);
        printer.decl(decl, next_start);
    }
    printer.own_line_comments_before(usize::MAX, 0);
    printer.out
}

struct Printer<'a> {
    out: String,
    comments: &'a [Comment],
    next_comment: usize,
}

impl Printer<'_> {
    /// Prints every not yet printed comment that starts before `pos`, each on its own line.
    fn own_line_comments_before(&mut self, pos: usize, depth: usize) {
        while let Some(comment) = self.comments.get(self.next_comment) {
            if comment.span.start >= pos {
                break;
            }
            self.line(depth, &comment.text);
            self.next_comment += 1;
        }
    }

    /// Ends the current line, first appending a comment that trails the item ending at `end`:
    /// one on the same line as that item's last code (it follows code at or past `end`), before
    /// `limit` (where the next item starts).
    fn end_line(&mut self, end: usize, limit: usize) {
        if let Some(comment) = self.comments.get(self.next_comment) {
            if !comment.own_line && comment.follows >= end && comment.span.start < limit {
                self.out.push(' ');
                self.out.push_str(&comment.text);
                self.next_comment += 1;
            }
        }
        self.out.push('\n');
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn decl(&mut self, decl: &Decl, next_start: usize) {
        let mut head = String::from(decl.keyword());
        match &decl.kind {
            DeclKind::Program { name, .. } => {
                head.push(' ');
                head.push_str(&string_literal(&name.value));
            }
            DeclKind::Redemption { .. } => {}
            DeclKind::Segment { name, title, .. }
            | DeclKind::Tier { name, title, .. }
            | DeclKind::Block { name, title, .. }
            | DeclKind::Event { name, title } => {
                head.push(' ');
                head.push_str(&name.name);
                if let Some(title) = title {
                    head.push(' ');
                    head.push_str(&string_literal(&title.value));
                }
            }
        }
        match &decl.kind {
            DeclKind::Segment { condition, .. } => {
                let _ = write!(head, " = {}", expr(condition));
                self.out.push_str(&head);
                self.end_line(decl.span.end, next_start);
            }
            DeclKind::Event { .. } => {
                self.out.push_str(&head);
                self.end_line(decl.span.end, next_start);
            }
            DeclKind::Tier { rank, clauses, .. } => {
                let _ = write!(head, " rank {}", quantity(rank));
                self.block(head, clauses, decl, next_start);
            }
            DeclKind::Program { clauses, .. }
            | DeclKind::Block { clauses, .. }
            | DeclKind::Redemption { clauses } => self.block(head, clauses, decl, next_start),
        }
    }

    fn block(&mut self, head: String, clauses: &[Clause], decl: &Decl, next_start: usize) {
        self.out.push_str(&head);
        let has_inner_comment = self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.span.start < decl.span.end);
        if clauses.is_empty() && !has_inner_comment {
            self.out.push_str(" {}");
            self.end_line(decl.span.end, next_start);
            return;
        }
        self.out.push_str(" {");
        let first_start = clauses.first().map_or(decl.span.end, |c| c.span.start);
        self.end_line(decl.span.start, first_start);
        for (index, clause) in clauses.iter().enumerate() {
            self.own_line_comments_before(clause.span.start, 1);
            self.indent(1);
            self.out.push_str(&clause_text(clause));
            let next = clauses
                .get(index + 1)
                .map_or(decl.span.end, |c| c.span.start);
            self.end_line(clause.span.end, next);
        }
        // Comments between the last clause and the closing brace.
        self.own_line_comments_before(decl.span.end.saturating_sub(1), 1);
        self.out.push('}');
        self.end_line(decl.span.end, next_start);
    }
}

/// One clause on one line, without indentation.
fn clause_text(clause: &Clause) -> String {
    match &clause.kind {
        ClauseKind::Currency(code) => format!("currency {}", code.name),
        ClauseKind::Timezone(zone) => format!("timezone {}", string_literal(&zone.value)),
        ClauseKind::Points(settings) => {
            let inner: Vec<String> = settings.iter().map(clause_text).collect();
            if inner.is_empty() {
                "points {}".to_string()
            } else {
                format!("points {{ {} }}", inner.join(" "))
            }
        }
        ClauseKind::Precision(n) => format!("precision {}", quantity(n)),
        ClauseKind::Rounding { mode, scope } => {
            let mode = match mode {
                RoundingMode::Down => "down",
                RoundingMode::Up => "up",
                RoundingMode::HalfUp => "half up",
                RoundingMode::HalfEven => "half even",
            };
            match scope {
                None => format!("rounding {mode}"),
                Some(scope) => {
                    let scope = match scope {
                        RoundingScope::Item => "item",
                        RoundingScope::Rule => "rule",
                        RoundingScope::Transaction => "transaction",
                    };
                    format!("rounding {mode} per {scope}")
                }
            }
        }
        ClauseKind::EffectiveFrom(m) => format!("effective from {}", moment(m)),
        ClauseKind::On(event) => format!("on {}", event.name),
        ClauseKind::When(condition) => format!("when {}", expr(condition)),
        ClauseKind::Earn {
            amount,
            points_suffix,
            for_each,
        } => {
            let mut text = format!("earn {}", expr(amount));
            if *points_suffix {
                text.push_str(" points");
            }
            if let Some(for_each) = for_each {
                text.push_str(" for each item");
                if let Some(filter) = &for_each.filter {
                    let _ = write!(text, " where {}", expr(filter));
                }
            }
            text
        }
        ClauseKind::Pending(d) => format!("pending {}", quantity(d)),
        ClauseKind::ExpireAfter(d) => format!("expire after {}", quantity(d)),
        ClauseKind::Cap { amount, period } => {
            format!("cap {} per {}", quantity(amount), period_text(*period))
        }
        ClauseKind::Valid(validity) => match validity {
            Validity::Range(from, to) => format!("valid {} .. {}", moment(from), moment(to)),
            Validity::From(from) => format!("valid from {}", moment(from)),
            Validity::Until(to) => format!("valid until {}", moment(to)),
            Validity::For(d) => format!("valid {}", quantity(d)),
        },
        ClauseKind::Audience(names) => format!("audience {}", idents(names)),
        ClauseKind::Budget(amount) => format!("budget {}", quantity(amount)),
        ClauseKind::Limit { count, period } => match period {
            Some(period) => format!(
                "limit {} per customer per {}",
                quantity(count),
                period_text(*period)
            ),
            None => format!("limit {} per customer", quantity(count)),
        },
        ClauseKind::Priority(n) => format!("priority {}", quantity(n)),
        ClauseKind::Stacking(stacking) => match stacking {
            Stacking::Exclusive => "stacking exclusive".to_string(),
            Stacking::WithAll => "stacking with all".to_string(),
            Stacking::With(names) => format!("stacking with [{}]", idents(names)),
            Stacking::BestOf(group) => format!("stacking best of {}", group.name),
        },
        ClauseKind::Codes(batch) => match batch {
            CodeBatch::Unique { length, prefix } => match prefix {
                Some(prefix) => format!(
                    "codes unique {} prefix {}",
                    quantity(length),
                    string_literal(&prefix.value)
                ),
                None => format!("codes unique {}", quantity(length)),
            },
            CodeBatch::Fixed(codes) => {
                let codes: Vec<String> = codes.iter().map(|c| string_literal(&c.value)).collect();
                format!("codes {}", codes.join(", "))
            }
        },
        ClauseKind::IssueOn(event) => format!("issue on {}", event.name),
        ClauseKind::Discount { amount, max } => match max {
            Some(max) => format!("discount {} max {}", expr(amount), expr(max)),
            None => format!("discount {}", expr(amount)),
        },
        ClauseKind::Uses(n) => format!("uses {} per customer", quantity(n)),
        ClauseKind::Buy {
            buy,
            get,
            reward,
            filter,
        } => {
            let text = format!(
                "buy {} get {} {}",
                quantity(buy),
                quantity(get),
                reward_text(reward)
            );
            with_filter(text, filter)
        }
        ClauseKind::Cheapest { of, reward, filter } => {
            let text = format!("cheapest of {} {}", quantity(of), reward_text(reward));
            with_filter(text, filter)
        }
        ClauseKind::Once => "once".to_string(),
        ClauseKind::Qualify(condition) => format!("qualify when {}", expr(condition)),
        ClauseKind::Keep(d) => format!("keep {}", quantity(d)),
        ClauseKind::Rate { points, money } => {
            format!("rate {} = {}", quantity(points), quantity(money))
        }
        ClauseKind::Max(amount) => format!("max {}", expr(amount)),
        ClauseKind::MinBalance(points) => format!("min balance {}", quantity(points)),
        ClauseKind::Step(points) => format!("step {}", quantity(points)),
        ClauseKind::Order(order) => {
            let order = match order {
                LotOrder::Oldest => "oldest",
                LotOrder::Newest => "newest",
                LotOrder::Expiring => "expiring",
            };
            format!("order {order} first")
        }
    }
}

fn with_filter(mut text: String, filter: &Option<Expr>) -> String {
    if let Some(filter) = filter {
        let _ = write!(text, " where {}", expr(filter));
    }
    text
}

fn reward_text(reward: &OfferReward) -> String {
    match reward {
        OfferReward::Free => "free".to_string(),
        OfferReward::PercentOff(p) => format!("at {} off", quantity(p)),
    }
}

fn period_text(period: Period) -> &'static str {
    period.as_str()
}

fn idents(names: &[Ident]) -> String {
    names
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string literal with quotes and escapes.
pub(crate) fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A quantity as written canonically: `10%`, `1000 RUB`, `1 point`, `14 days`.
pub(crate) fn quantity(q: &Quantity) -> String {
    let one = q.value == rust_decimal::Decimal::ONE;
    match &q.unit {
        None => q.value.to_string(),
        Some(Unit::Percent) => format!("{}%", q.value),
        Some(Unit::Points) => format!("{} {}", q.value, if one { "point" } else { "points" }),
        Some(Unit::Currency(code)) => format!("{} {}", q.value, code),
        Some(Unit::Duration(unit)) => format!(
            "{} {}",
            q.value,
            if one { unit.singular() } else { unit.plural() }
        ),
    }
}

/// A date as `2026-12-05`, a date-time as `2026-12-05T10:00+03:00` (seconds only when set).
pub(crate) fn moment(m: &Moment) -> String {
    use chrono::Timelike;
    match m {
        Moment::Date(d) => d.format("%Y-%m-%d").to_string(),
        Moment::DateTime(dt) if dt.second() == 0 => dt.format("%Y-%m-%dT%H:%M%:z").to_string(),
        Moment::DateTime(dt) => dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    }
}

/// Binding strength, loosest first; atoms bind tightest.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => match op {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
            BinaryOp::Of => 8,
        },
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => 3,
        ExprKind::Compare { .. } | ExprKind::In { .. } | ExprKind::Between { .. } => 4,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        } => 7,
        _ => 9,
    }
}

/// An expression with the fewest parentheses that keep its meaning.
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e, 0);
    out
}

fn write_expr(out: &mut String, e: &Expr, min: u8) {
    let own = precedence(e);
    let parens = own < min;
    if parens {
        out.push('(');
    }
    match &e.kind {
        ExprKind::Quantity(q) => out.push_str(&quantity(q)),
        ExprKind::Text(t) => out.push_str(&string_literal(t)),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Moment(m) => out.push_str(&moment(m)),
        ExprKind::Path(segments) => {
            let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
            out.push_str(&names.join("."));
        }
        ExprKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, item, 0);
            }
            out.push(']');
        }
        ExprKind::Unary { op, operand } => match op {
            UnaryOp::Not => {
                out.push_str("not ");
                write_expr(out, operand, 3);
            }
            UnaryOp::Neg => {
                out.push('-');
                write_expr(out, operand, 7);
            }
        },
        ExprKind::Binary { op, lhs, rhs } => {
            // Left-associative operators take their own level on the left; `of` is
            // right-associative and its left side is always an atom in the grammar.
            let (left_min, right_min) = match op {
                BinaryOp::Of => (9, 8),
                _ => (own, own + 1),
            };
            write_expr(out, lhs, left_min);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            write_expr(out, rhs, right_min);
        }
        ExprKind::Compare { op, lhs, rhs } => {
            write_expr(out, lhs, 5);
            let _ = write!(out, " {} ", op.as_str());
            write_expr(out, rhs, 5);
        }
        ExprKind::In {
            negated,
            value,
            list,
        } => {
            write_expr(out, value, 5);
            out.push_str(if *negated { " not in " } else { " in " });
            write_expr(out, list, 5);
        }
        ExprKind::Between {
            negated,
            value,
            low,
            high,
        } => {
            write_expr(out, value, 5);
            out.push_str(if *negated {
                " not between "
            } else {
                " between "
            });
            write_expr(out, low, 5);
            out.push_str(" and ");
            write_expr(out, high, 5);
        }
        ExprKind::Call { name, args } => {
            out.push_str(&name.name);
            out.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match arg {
                    Arg::Value { value, filter } => {
                        write_expr(out, value, 0);
                        if let Some(filter) = filter {
                            out.push_str(" where ");
                            write_expr(out, filter, 0);
                        }
                    }
                    Arg::Window(q) => {
                        out.push_str("last ");
                        out.push_str(&quantity(q));
                    }
                    Arg::Items { filter, .. } => {
                        out.push_str("items");
                        if let Some(filter) = filter {
                            out.push_str(" where ");
                            write_expr(out, filter, 0);
                        }
                    }
                }
            }
            out.push(')');
        }
    }
    if parens {
        out.push(')');
    }
}
