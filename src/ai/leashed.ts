/**
 * The mark a leashed tool carries in its annotations: the action it is leashed as.
 *
 * @internal
 */
import * as Context from "effect/Context"

/** The annotation of a tool put behind the gate by `Leash.toolkit`. */
export class LeashedAction extends Context.Tag("houndsight/ai/LeashedAction")<
  LeashedAction,
  { readonly actionName: string }
>() {}

/** Whether a tool was put behind the gate (it records its own execute step). */
export const isLeashedTool = (tool: { readonly annotations?: Context.Context<never> }): boolean =>
  tool.annotations !== undefined && Context.getOption(tool.annotations, LeashedAction)._tag === "Some"
