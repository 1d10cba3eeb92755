//! `lkeobs plan`: print what `up` would do. Offline (this build), it plans against an empty account.

use super::Ctx;
use crate::cli::PlanArgs;
use crate::plan::{self, Plan};
use crate::stack::Renderer;
use crate::ui::plan_text;

/// Runs `plan`; the caller maps `changes` to the detailed exit code.
pub fn run(ctx: &Ctx, _args: &PlanArgs) -> Result<Plan, crate::Error> {
    let loaded = ctx.load_fleet()?;
    let renderer = Renderer::new()?;
    let plan = plan::offline(&loaded.fleet, &renderer)?;
    if ctx.printer.json() {
        ctx.printer.report_json(&plan);
    } else {
        ctx.printer.report(&plan_text::render(&plan));
    }
    Ok(plan)
}
