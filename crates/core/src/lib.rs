//! puntos: an embeddable loyalty-points rule engine.
//!
//! Marketers write a program's rules in the `.pts` language; [`compile::compile`] turns the text
//! into an immutable [`program::Program`], reporting every mistake with its place and a hint.
//!
//! ```
//! use puntos::compile::compile;
//! use puntos_dsl::SourceFile;
//!
//! let source = SourceFile::new("club.pts", r#"
//! program "Club" { currency RUB  timezone "Europe/Moscow" }
//! rule base { on purchase  earn floor(item.amount / 10 RUB) points for each item }
//! rule gold { on purchase  when basket.total >= 1000  earn 50% of base }
//! "#);
//! let compiled = compile(&source);
//! let error = &compiled.diagnostics[0];
//! assert_eq!(error.code.id(), "P0203");
//! assert_eq!(error.help.as_deref(), Some("write `1000 RUB`"));
//! ```
//!
//! Modules: [`compile`] (names, types, order, lints), [`program`] (the compiled form),
//! [`schema`] (what a program can read), [`types`]; [`simulate`] replays a history under two
//! programs and compares them.

pub mod compile;
pub mod eval;
pub mod fast_hash;
pub mod html;
mod instant_json;
pub mod ledger;
#[cfg(feature = "migrate")]
pub mod migrate;
mod parallel;
#[cfg(feature = "phones")]
pub mod phone;
pub mod program;
pub mod scenario;
pub mod schema;
pub mod simulate;
pub mod synth;
pub mod table;
mod toml_exact;
pub mod types;
pub mod versions;

pub use compile::{compile, compile_with, CompileOptions, Compiled};
pub use eval::{Context, Decision, EvalError, EvalOptions};
pub use program::Program;
/// The decimal type of every amount of money and points.
pub use rust_decimal::Decimal;
pub use versions::Versions;
