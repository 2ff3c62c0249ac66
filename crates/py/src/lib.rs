//! The Python module `puntos` (built by maturin as `puntos._puntos`, re-exported by the package
//! in `python/puntos`): the puntos core for analysts. Every decision is the core's; this crate
//! only turns Python values into the core's inputs and its results into Python values, with
//! money and points as `decimal.Decimal` both ways.

mod batch;
mod columns;
mod decision;
mod errors;
mod frames;
mod input;
mod migrate;
mod program;
mod simulate;
mod store;

use pyo3::prelude::*;

/// Rust's allocations in this module (not Python's) go to mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Formats a program's source text the way `puntos fmt` does. Raises `CompileError` when the
/// text has syntax errors (nothing is formatted then).
#[pyfunction]
#[pyo3(signature = (source, filename = None))]
fn format(py: Python<'_>, source: &str, filename: Option<&str>) -> PyResult<String> {
    let file = puntos_dsl::SourceFile::new(filename.unwrap_or("program.pts"), source);
    let parsed = puntos_dsl::parse(file.text());
    if parsed.diagnostics.is_empty() {
        Ok(puntos_dsl::format(&parsed.file))
    } else {
        Err(errors::compile_error(py, &file, &parsed.diagnostics))
    }
}

/// The extension module.
#[pymodule]
fn _puntos(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(program::compile, m)?)?;
    m.add_function(wrap_pyfunction!(format, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(migrate::migrate, m)?)?;
    m.add_class::<migrate::Migration>()?;
    m.add_class::<store::Store>()?;
    m.add_class::<store::Account>()?;
    m.add_class::<program::Program>()?;
    m.add_class::<simulate::Population>()?;
    m.add_class::<simulate::Simulation>()?;
    m.add_class::<decision::Decision>()?;
    m.add_class::<decision::Effect>()?;
    m.add_class::<decision::Source>()?;
    m.add_class::<decision::Share>()?;
    m.add_class::<decision::Step>()?;
    m.add_class::<decision::Fact>()?;
    m.add_class::<decision::RefusedCoupon>()?;
    m.add_class::<decision::DecidedLine>()?;
    m.add_class::<errors::Diagnostic>()?;
    m.add("CompileError", m.py().get_type::<errors::CompileError>())?;
    m.add("EvalError", m.py().get_type::<errors::EvalError>())?;
    Ok(())
}
