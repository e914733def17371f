/**
 * Entry point of `houndsight-server` (see `Cli`).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cli from "./Cli.js"

NodeRuntime.runMain(Cli.main(process.argv.slice(2), process.env), {
  disableErrorReporting: true,
  teardown: Cli.teardown
})
