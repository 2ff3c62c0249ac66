//! The rows of a legacy export, typed: each field read as what MIGRATION.md says it is, or the
//! row rejected naming the column and what is wrong with it. A blank optional field is `None`;
//! a blank required one is a rejection.

use super::export::{ExportFile, Reject, Row};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;

/// The largest amount or point count accepted (a quadrillion): far above any real balance, and
/// low enough that sums over a hundred million rows cannot overflow a decimal.
const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x3_8D7E, 0, false, 0);

/// A row of `customers.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow<'r> {
    /// The legacy customer id.
    pub customer_id: &'r str,
    /// The name as registered.
    pub full_name: &'r str,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// The phone as typed.
    pub phone: &'r str,
    /// The e-mail address as typed.
    pub email: &'r str,
    /// Consent to SMS.
    pub sms_opt_in: Option<bool>,
    /// Consent to e-mail.
    pub email_opt_in: Option<bool>,
    /// Registration moment.
    pub created_at: Option<DateTime<FixedOffset>>,
    /// The legacy status, as written.
    pub status: &'r str,
}

/// The state of a legacy card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// In use.
    Active,
    /// Blocked by the program.
    Blocked,
    /// Reported lost.
    Lost,
}

/// A row of `cards.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRow<'r> {
    /// The card number.
    pub card_no: &'r str,
    /// Its owner; `None` for a card never registered to anyone.
    pub customer_id: Option<&'r str>,
    /// Its state.
    pub status: CardStatus,
    /// When it was issued.
    pub issued_at: Option<DateTime<FixedOffset>>,
}

/// A row of `balances.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceRow<'r> {
    /// The card.
    pub card_no: &'r str,
    /// Its points.
    pub balance: Decimal,
    /// The moment of the snapshot.
    pub as_of: DateTime<FixedOffset>,
}

/// What a legacy transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// A purchase (earns).
    Purchase,
    /// Goods returned (takes back what their purchase earned).
    Refund,
    /// Points spent.
    Redemption,
    /// A manual correction by an operator.
    Adjustment,
    /// Points expired.
    Expiry,
}

impl TxKind {
    /// Every kind, in report order.
    pub const ALL: [TxKind; 5] = [
        TxKind::Purchase,
        TxKind::Refund,
        TxKind::Redemption,
        TxKind::Adjustment,
        TxKind::Expiry,
    ];

    /// The kind as the export writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Purchase => "purchase",
            TxKind::Refund => "refund",
            TxKind::Redemption => "redemption",
            TxKind::Adjustment => "adjustment",
            TxKind::Expiry => "expiry",
        }
    }
}

/// A row of `transactions.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct TxRow<'r> {
    /// The legacy transaction id.
    pub tx_id: &'r str,
    /// The card it was made with.
    pub card_no: &'r str,
    /// When.
    pub occurred_at: DateTime<FixedOffset>,
    /// Where.
    pub store_id: &'r str,
    /// What.
    pub kind: TxKind,
    /// The money amount, if any.
    pub amount: Option<Decimal>,
    /// Points added to the card (an adjustment may be negative).
    pub points_earned: Decimal,
    /// Points taken off the card.
    pub points_redeemed: Decimal,
    /// The purchase a refund returns.
    pub original_tx_id: Option<&'r str>,
}

/// Reads the fields of one row, rejecting it at the first bad field.
struct Fields<'a, 'r> {
    row: &'a Row<'r>,
    file: ExportFile,
}

impl<'r> Fields<'_, 'r> {
    fn column(&self, c: usize) -> &'static str {
        self.file.columns().get(c).copied().unwrap_or("?")
    }

    fn reject(&self, c: usize, reason: impl Into<String>) -> Reject {
        self.row.reject(Some(self.column(c)), reason)
    }

    fn text(&self, c: usize) -> &'r str {
        self.row.get(c)
    }

    fn optional(&self, c: usize) -> Option<&'r str> {
        Some(self.text(c)).filter(|t| !t.is_empty())
    }

    fn required(&self, c: usize) -> Result<&'r str, Reject> {
        self.optional(c).ok_or_else(|| self.reject(c, "blank"))
    }

    fn date(&self, c: usize) -> Result<Option<NaiveDate>, Reject> {
        self.optional(c)
            .map(|t| {
                NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map_err(|_| self.reject(c, format!("`{t}` is not a date such as 1980-05-17")))
            })
            .transpose()
    }

    fn instant(&self, c: usize) -> Result<Option<DateTime<FixedOffset>>, Reject> {
        self.optional(c)
            .map(|t| self.parse_instant(c, t))
            .transpose()
    }

    fn required_instant(&self, c: usize) -> Result<DateTime<FixedOffset>, Reject> {
        let t = self.required(c)?;
        self.parse_instant(c, t)
    }

    fn parse_instant(&self, c: usize, t: &str) -> Result<DateTime<FixedOffset>, Reject> {
        DateTime::parse_from_rfc3339(t).map_err(|_| {
            let hint = if chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok() {
                "has no UTC offset; write it as 2024-03-01T12:30:00+03:00"
            } else {
                "is not a timestamp such as 2024-03-01T12:30:00+03:00"
            };
            self.reject(c, format!("`{t}` {hint}"))
        })
    }

    fn decimal(&self, c: usize) -> Result<Option<Decimal>, Reject> {
        self.optional(c)
            .map(|t| {
                let x: Decimal = t
                    .parse()
                    .map_err(|_| self.reject(c, format!("`{t}` is not a number such as 120.50")))?;
                if x.abs() > MAX_AMOUNT {
                    return Err(self.reject(c, format!("{t} is beyond {MAX_AMOUNT}")));
                }
                Ok(x)
            })
            .transpose()
    }

    fn flag(&self, c: usize) -> Result<Option<bool>, Reject> {
        self.optional(c)
            .map(|t| match t.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "y" | "t" => Ok(true),
                "0" | "false" | "no" | "n" | "f" => Ok(false),
                _ => Err(self.reject(c, format!("`{t}` is not yes or no (true, false, 1, 0)"))),
            })
            .transpose()
    }
}

impl<'r> CustomerRow<'r> {
    /// Reads a row of `customers.csv`.
    pub fn read(row: &Row<'r>) -> Result<CustomerRow<'r>, Reject> {
        let f = Fields {
            row,
            file: ExportFile::Customers,
        };
        Ok(CustomerRow {
            customer_id: f.required(0)?,
            full_name: f.text(1),
            birth_date: f.date(2)?,
            phone: f.text(3),
            email: f.text(4),
            sms_opt_in: f.flag(5)?,
            email_opt_in: f.flag(6)?,
            created_at: f.instant(7)?,
            status: f.text(8),
        })
    }
}

impl<'r> CardRow<'r> {
    /// Reads a row of `cards.csv`.
    pub fn read(row: &Row<'r>) -> Result<CardRow<'r>, Reject> {
        let f = Fields {
            row,
            file: ExportFile::Cards,
        };
        let card_no = f.required(0)?;
        let customer_id = f.optional(1);
        let status = match f.text(2).to_ascii_lowercase().as_str() {
            "active" => CardStatus::Active,
            "blocked" => CardStatus::Blocked,
            "lost" => CardStatus::Lost,
            "" => return Err(f.reject(2, "blank")),
            other => return Err(f.reject(2, format!("`{other}` is not active, blocked or lost"))),
        };
        Ok(CardRow {
            card_no,
            customer_id,
            status,
            issued_at: f.instant(3)?,
        })
    }
}

impl<'r> BalanceRow<'r> {
    /// Reads a row of `balances.csv`.
    pub fn read(row: &Row<'r>) -> Result<BalanceRow<'r>, Reject> {
        let f = Fields {
            row,
            file: ExportFile::Balances,
        };
        let card_no = f.required(0)?;
        let balance = f.decimal(1)?.ok_or_else(|| f.reject(1, "blank"))?;
        Ok(BalanceRow {
            card_no,
            balance,
            as_of: f.required_instant(2)?,
        })
    }
}

impl<'r> TxRow<'r> {
    /// Reads a row of `transactions.csv`.
    pub fn read(row: &Row<'r>) -> Result<TxRow<'r>, Reject> {
        let f = Fields {
            row,
            file: ExportFile::Transactions,
        };
        let tx_id = f.required(0)?;
        let card_no = f.required(1)?;
        let occurred_at = f.required_instant(2)?;
        let kind = match f.text(4).to_ascii_lowercase().as_str() {
            "purchase" => TxKind::Purchase,
            "refund" => TxKind::Refund,
            "redemption" => TxKind::Redemption,
            "adjustment" => TxKind::Adjustment,
            "expiry" => TxKind::Expiry,
            "" => return Err(f.reject(4, "blank")),
            other => {
                return Err(f.reject(
                    4,
                    format!("`{other}` is not purchase, refund, redemption, adjustment or expiry"),
                ))
            }
        };
        let amount = f.decimal(5)?;
        let points_earned = f.decimal(6)?.unwrap_or_default();
        let points_redeemed = f.decimal(7)?.unwrap_or_default();
        if points_redeemed.is_sign_negative() && !points_redeemed.is_zero() {
            return Err(f.reject(7, "points redeemed cannot be negative"));
        }
        if kind != TxKind::Adjustment
            && points_earned.is_sign_negative()
            && !points_earned.is_zero()
        {
            return Err(f.reject(
                6,
                format!(
                    "a {} cannot earn negative points (only an adjustment can)",
                    kind.as_str()
                ),
            ));
        }
        if let Some(a) = amount {
            if a.is_sign_negative() && !a.is_zero() {
                return Err(f.reject(5, "an amount cannot be negative (a refund is its own kind)"));
            }
        }
        Ok(TxRow {
            tx_id,
            card_no,
            occurred_at,
            store_id: f.text(3),
            kind,
            amount,
            points_earned,
            points_redeemed,
            original_tx_id: f.optional(8),
        })
    }
}
