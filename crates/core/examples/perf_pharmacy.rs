#![allow(missing_docs, clippy::unwrap_used)]
const PHARMACY_CONTEXT: &str = r#"{
  "transaction": {
    "id": "T-1001",
    "time": "2026-03-14T12:30:00+03:00",
    "channel": "store",
    "store": {"id": "S-0042", "region": "Moscow", "city": "Moscow", "format": "pharmacy"},
    "lines": [
      {"sku": "VIT-C-500", "category": "vitamins", "brand": "Solgar", "unit_price": 899.00, "quantity": 2},
      {"sku": "OTC-IBU-200", "category": "otc", "brand": "Nurofen", "unit_price": 312.50, "quantity": 1},
      {"sku": "COS-LRP-40", "category": "cosmetics", "brand": "La Roche-Posay", "unit_price": 1649.90, "quantity": 1},
      {"sku": "RX-ATOR-20", "category": "rx", "brand": "Atoris", "unit_price": 545.00, "quantity": 3},
      {"sku": "TOB-PM-20", "category": "tobacco", "brand": "Parliament", "unit_price": 289.00, "quantity": 1}
    ]
  },
  "customer": {"id": "C-77", "birth_date": "1960-05-20", "enrolled_at": "2019-02-01", "status": "active"},
  "account": {
    "available": 1240,
    "pending": 310,
    "tier": {"name": "Gold", "until": "2026-09-30"},
    "spend": {"12 months": 35000},
    "last_purchase": "2026-03-02",
    "uses": {"senior_weekend": 0},
    "budget_used": {"senior_weekend": 1250000, "vitamin_month": 48000}
  }
}"#;
fn main() {
    let p = puntos::compile(&puntos_dsl::SourceFile::new(
        "s",
        include_str!("../../../examples/pharmacy/program.pts"),
    ))
    .program
    .unwrap();
    let c = puntos::Context::from_json(PHARMACY_CONTEXT).unwrap();
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(10000);
    let mut total = rust_decimal::Decimal::ZERO;
    for _ in 0..n {
        total += p.evaluate(&c).unwrap().points_earned();
    }
    println!("{total}");
}
