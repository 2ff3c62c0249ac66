//! The generated program both benchmarks use, so compile and evaluation figures describe the
//! same text.

/// A program with `rules` accrual rules of realistic shape: a line filter, a condition, and
/// every tenth rule reading the previous one; with `promotions`, also one promotion per ten
/// rules reading a rule.
pub fn generated_program(rules: usize, promotions: bool) -> String {
    let mut text = String::from(
        "program \"Generated\" {\n  currency RUB\n  timezone \"Europe/Moscow\"\n}\n\n\
         segment seniors = customer.birth_date <= transaction.date - 60 years\n\n",
    );
    for i in 0..rules {
        if i % 10 == 9 {
            text.push_str(&format!(
                "rule r{i} {{\n  on purchase\n  when seniors and basket.total >= {} RUB\n  earn 50% of r{}\n}}\n\n",
                100 * i,
                i - 1
            ));
            if promotions {
                text.push_str(&format!(
                    "promotion p{i} {{\n  valid 2026-01-01 .. 2026-12-31\n  on purchase\n  \
                     when transaction.weekday in [Sat, Sun] and basket.total >= {} RUB\n  \
                     earn 100% of r{}\n  priority {i}\n  pending 14 days\n}}\n\n",
                    500 * (i / 10 + 1),
                    i - 9
                ));
            }
        } else {
            text.push_str(&format!(
                "rule r{i} \"Category {i}\" {{\n  on purchase\n  when transaction.weekday in [Sat, Sun] or spend(last 12 months) >= {} RUB\n  \
                 earn floor(item.amount / 10 RUB) * {} points for each item where item.category = \"cat{i}\" and item.quantity >= 1\n  \
                 pending 14 days\n  expire after 365 days\n}}\n\n",
                1000 * (i + 1),
                i % 5 + 1
            ));
        }
    }
    text
}
