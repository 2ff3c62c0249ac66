//! Why an evaluation could not decide. Every error names its place: the input field (a JSON path
//! such as `transaction.lines[3].quantity`) or the declaration and the spot in the program.

use puntos_dsl::{LineCol, Span};

/// An evaluation that could not be decided. Nothing is applied when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The input is invalid or asks for something the program does not allow.
    #[error("{field}: {message}")]
    Input {
        /// The field at fault, as a path (`transaction.redeem`).
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A computation in the program failed on this input (overflow, division by zero).
    #[error("{declaration} at {}:{}: {message}", .at.line, .at.column)]
    Computation {
        /// The declaration, such as `rule base`.
        declaration: String,
        /// Where in the program.
        at: LineCol,
        /// The byte range in the program source.
        span: Span,
        /// What went wrong.
        message: String,
    },
}

impl EvalError {
    /// An input error on `field`.
    pub fn input(field: impl Into<String>, message: impl Into<String>) -> EvalError {
        EvalError::Input {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field at fault, for an input error.
    pub fn field(&self) -> Option<&str> {
        match self {
            EvalError::Input { field, .. } => Some(field),
            EvalError::Computation { .. } => None,
        }
    }
}
