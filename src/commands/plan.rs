//! `lkeobs plan`: print what `up` would do. With a token it runs the preflight, discovers what exists
//! (by label and tags) and compares; without one (or with `--offline`) it plans against an empty account.

use serde::Serialize;

use crate::linode::ApiCalls;
use crate::ops::{Ctx, compare, discover};
use crate::plan::{self, Plan};
use crate::stack::Renderer;
use crate::ui::{Failure, Outcome, plan_text};

/// What `plan` prints: the plan, the fleet's security warnings and the API calls it took.
#[derive(Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub plan: Plan,
    pub warnings: Vec<String>,
    api_calls: ApiCalls,
    /// `--detailed-exitcode`: changes to make end the command with exit code 2.
    #[serde(skip)]
    detailed_exitcode: bool,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        plan_text::render(&self.plan)
    }

    /// Problems (resources with our names that are not ours) fail the command after the plan that lists them.
    fn outcome(&self) -> Outcome {
        if !self.plan.problems.is_empty() {
            Outcome::failed(
                Failure::Conflict,
                format!("the plan cannot be carried out: {}", self.plan.problems.join("; ")),
            )
        } else if self.detailed_exitcode && self.plan.changes > 0 {
            Outcome::Changes
        } else {
            Outcome::Done
        }
    }
}

/// How `plan` runs (also `up --dry-run`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Plan against an empty account, without the API.
    pub offline: bool,
    /// Changes to make end the command with exit code 2.
    pub detailed_exitcode: bool,
}

/// Runs `plan`.
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, crate::Error> {
    let loaded = ctx.load_fleet()?;
    let warnings = ctx.security_warnings(&loaded.fleet);
    let renderer = Renderer::new()?;
    let client = if args.offline {
        None
    } else {
        match ctx.linode_client()? {
            Ok(c) => Some(c),
            Err(why) => {
                ctx.printer.note(&format!("{why}; planning against an empty account"));
                None
            }
        }
    };
    let plan = match client {
        None => plan::offline(&loaded.fleet, &renderer)?,
        Some(client) => {
            discover::preflight(&client, &loaded).await?;
            let observed = discover::observe(&client, &loaded.fleet).await?;
            let mut plan = plan::online(&loaded.fleet, &observed, &renderer)?;
            compare::stacks(&client, &loaded.fleet, &observed, &mut plan, &renderer, ctx.deadline()).await?;
            plan
        }
    };
    Ok(Report {
        plan,
        warnings,
        api_calls: ctx.api_calls(),
        detailed_exitcode: args.detailed_exitcode,
    })
}
