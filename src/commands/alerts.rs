//! `lkeobs alerts test [--receiver NAME]`: turns the arguments into [`ops::alerts::Options`] and runs it;
//! the report says each receiver's delivery and the command exits 1 naming any that failed.

use crate::cli::AlertsArgs;
use crate::ops::{self, Ctx};
use crate::ui::{Failure, Outcome};

pub use ops::alerts::Report;

/// Runs `alerts test`.
pub async fn run(ctx: &Ctx, args: &AlertsArgs) -> Result<Report, crate::Error> {
    let crate::cli::AlertsCommand::Test(t) = &args.command;
    let opts = ops::alerts::Options {
        receiver: t.receiver.clone(),
        wait: t.wait,
    };
    ops::alerts::run(ctx, &opts).await
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut out = format!(
            "alerts test for fleet {:?}: a synthetic alert per receiver\n",
            self.fleet
        );
        for d in &self.deliveries {
            out.push_str(&format!(
                "  {:<20} {:<10} {} (attempts {}, failed {})\n",
                d.receiver,
                d.result,
                d.integrations.join(", "),
                d.attempts,
                d.failed
            ));
        }
        out
    }

    fn outcome(&self) -> Outcome {
        let failing = self.failing();
        if failing.is_empty() {
            Outcome::Done
        } else {
            Outcome::failed(
                Failure::Undelivered,
                format!("the test alert did not reach receiver(s): {}", failing.join(", ")),
            )
        }
    }
}
