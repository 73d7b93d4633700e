//! Stop the line: halting every deployment that has not started, everywhere (rollbacks excepted), and
//! resuming.

use railyard_domain::{Actor, Line, Operation};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx};
use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub reason: String,
}

impl Service {
    /// Whether the line is stopped (never stopped: running).
    pub async fn line(&self, actor: &Actor) -> ServiceResult<Line> {
        self.authorize(actor, Operation::Read)?;
        self.line_state().await
    }

    pub(crate) async fn line_state(&self) -> ServiceResult<Line> {
        Ok(self.find::<Line>(Line::ID).await?.map(|s| s.value).unwrap_or_default())
    }

    /// Halts (`halt`) or resumes the line, with a reason: an admin or a release manager.
    pub async fn set_line(&self, actor: &Actor, halt: bool, input: LineInput) -> ServiceResult<Line> {
        bounded(&input)?;
        self.authorize(actor, Operation::StopLine)?;
        let reason = &input.reason;
        self.retrying(None, move || async move {
            let now = self.now();
            let stored: Option<Stored<Line>> = self.find(Line::ID).await?;
            let mut tx = Tx::new(actor, now);
            match stored {
                Some(mut s) => {
                    let c =
                        if halt { s.value.halt(reason, actor, now)? } else { s.value.resume(reason, actor, now)? };
                    tx.record([c]);
                    tx.update(&s)?;
                }
                None => {
                    let mut line = Line::default();
                    let c = if halt { line.halt(reason, actor, now)? } else { line.resume(reason, actor, now)? };
                    tx.record([c]);
                    tx.insert(&line, 0)?;
                }
            }
            self.commit(tx).await
        })
        .await?;
        self.line_state().await
    }
}
