use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DomainError;
use crate::error::Fields;

/// A train's five planned dates, each on or after the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub start: NaiveDate,
    pub scoping_end: NaiveDate,
    pub construction_end: NaiveDate,
    pub verification_end: NaiveDate,
    pub production_date: NaiveDate,
}

impl Schedule {
    /// The dates in order with their field names.
    pub fn dates(&self) -> [(&'static str, NaiveDate); 5] {
        [
            ("start", self.start),
            ("scoping_end", self.scoping_end),
            ("construction_end", self.construction_end),
            ("verification_end", self.verification_end),
            ("production_date", self.production_date),
        ]
    }

    /// Every date that comes before the one it follows is reported, by field name.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut fields = Fields::default();
        let dates = self.dates();
        for pair in dates.windows(2) {
            let (prev_name, prev) = pair[0];
            let (name, date) = pair[1];
            fields.check(date >= prev, &format!("schedule.{name}"), || {
                format!("{name} {date} is before {prev_name} {prev}; each date must be on or after the one before")
            });
        }
        fields.done()
    }

    /// Every date moved by the same offset; `None` when a date would leave the calendar's range.
    pub fn shifted(&self, by: Duration) -> Option<Schedule> {
        Some(Schedule {
            start: self.start.checked_add_signed(by)?,
            scoping_end: self.scoping_end.checked_add_signed(by)?,
            construction_end: self.construction_end.checked_add_signed(by)?,
            verification_end: self.verification_end.checked_add_signed(by)?,
            production_date: self.production_date.checked_add_signed(by)?,
        })
    }
}
