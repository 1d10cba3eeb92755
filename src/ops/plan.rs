//! `lkeobs plan`: print what `up` would do. With a token it runs the preflight, discovers what exists
//! (by label and tags) and compares; without one (or with `--offline`) it plans against an empty account.

use serde::Serialize;

use super::{Ctx, compare, discover};
use crate::cli::PlanArgs;
use crate::linode::ApiCalls;
use crate::plan::{self, Plan};
use crate::stack::Renderer;
use crate::ui::plan_text;

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    api_calls: ApiCalls,
}

/// Runs `plan`; the caller maps `changes` to the detailed exit code. Problems (resources with our names
/// that are not ours) are printed with the plan, then returned as an error.
pub async fn run(ctx: &Ctx, args: &PlanArgs) -> Result<Plan, crate::Error> {
    let loaded = ctx.load_fleet()?;
    for w in crate::fleet::warnings::security_warnings(&loaded.fleet) {
        ctx.printer.warn(&w);
    }
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
    if ctx.printer.json() {
        ctx.printer.report_json(&Report {
            plan: &plan,
            api_calls: ctx.api_calls(),
        });
    } else {
        ctx.printer.report(&plan_text::render(&plan));
    }
    if !plan.problems.is_empty() {
        return Err(crate::Error::Conflict(format!(
            "the plan cannot be carried out: {}",
            plan.problems.join("; ")
        )));
    }
    Ok(plan)
}
