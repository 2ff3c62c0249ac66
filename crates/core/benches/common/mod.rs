//! The programs and contexts the benchmarks (and the `evaluate_loop` example, for instruction
//! counts) use, so every figure describes the same text. Each user takes part of it.

#![allow(dead_code)]

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

/// A Gold customer (held until September, 35,000 RUB spent over the year, 65 years old) buying
/// five lines on Saturday 2026-03-14: inside the pharmacy's vitamin month and senior weekends;
/// the tobacco line never earns. A file of its own: the WebAssembly benchmark evaluates it in
/// Chromium (crates/wasm/bench).
pub const PHARMACY_CONTEXT: &str = include_str!("pharmacy-context.json");

/// Five lines in categories the generated program's rules `r0` .. `r4` reward.
pub const GENERATED_CONTEXT: &str = r#"{
  "transaction": {
    "id": "G-1",
    "time": "2026-03-14T12:30:00+03:00",
    "lines": [
      {"sku": "A", "category": "cat0", "unit_price": 1200.00, "quantity": 1},
      {"sku": "B", "category": "cat1", "unit_price": 349.90, "quantity": 2},
      {"sku": "C", "category": "cat2", "unit_price": 89.99, "quantity": 4},
      {"sku": "D", "category": "cat3", "unit_price": 2500.00, "quantity": 1},
      {"sku": "E", "category": "cat4", "unit_price": 15.50, "quantity": 10}
    ]
  },
  "customer": {"birth_date": "1958-11-02"},
  "account": {"spend": {"12 months": 4200}}
}"#;

/// A small realistic program: ten rules and promotions, two tiers, one segment.
pub const SMALL_PROGRAM: &str = r#"
program "Corner Store" {
  currency RUB
  timezone "Europe/Moscow"
  points { precision 0 rounding down per rule }
}

segment seniors = customer.age >= 60

tier Silver rank 1 {
  qualify when spend(last 12 months) >= 10000 RUB
  keep 12 months
}

tier Gold rank 2 {
  qualify when spend(last 12 months) >= 30000 RUB
  keep 12 months
}

rule base {
  on purchase
  earn floor(item.amount / 10 RUB) points for each item where item.category not in ["tobacco", "alcohol"]
}

rule silver_boost {
  on purchase
  when customer.tier = Silver
  earn 20% of base
}

rule gold_boost {
  on purchase
  when customer.tier >= Gold
  earn 50% of base
}

rule big_basket {
  on purchase
  when basket.total >= 5000 RUB
  earn 100 points
}

rule fresh {
  on purchase
  earn floor(sum(item.amount where item.category = "fresh") / 100 RUB) * 5 points
}

promotion senior_weekend {
  valid 2026-01-01 .. 2026-12-31
  audience seniors
  on purchase
  when transaction.weekday in [Sat, Sun] and basket.total >= 300 RUB
  earn 100% of base
  priority 10
}

promotion vitamin_month {
  valid 2026-03-01 .. 2026-03-31
  on purchase
  earn floor(item.amount / 10 RUB) * 2 points for each item where item.category = "vitamins"
  priority 20
}

promotion happy_hours {
  on purchase
  when transaction.hour between 8 and 10
  earn 50 points
  priority 30
}

promotion app_bonus {
  on purchase
  when transaction.channel = "app"
  earn 10% of base
  priority 40
}

promotion cold_season {
  valid 2026-10-01 .. 2026-12-31
  on purchase
  when sum(item.amount where item.category = "otc") >= 1500 RUB
  earn 300 points
  priority 50
}
"#;

/// A Gold customer's five-line basket on a Saturday in March.
pub const SMALL_CONTEXT: &str = r#"{
  "transaction": {
    "id": "S-1",
    "time": "2026-03-14T12:30:00+03:00",
    "channel": "store",
    "lines": [
      {"sku": "V1", "category": "vitamins", "unit_price": 899.00, "quantity": 2},
      {"sku": "F1", "category": "fresh", "unit_price": 129.90, "quantity": 3},
      {"sku": "O1", "category": "otc", "unit_price": 312.50, "quantity": 1},
      {"sku": "H1", "category": "household", "unit_price": 1649.90, "quantity": 1},
      {"sku": "T1", "category": "tobacco", "unit_price": 289.00, "quantity": 1}
    ]
  },
  "customer": {"birth_date": "1960-05-20"},
  "account": {"tier": {"name": "Gold", "until": "2026-09-30"}, "spend": {"12 months": 35000}}
}"#;

/// The process's peak resident memory (`VmHWM` of /proc/self/status), as the kernel writes it.
pub fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}
