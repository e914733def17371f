/**
 * The reliability suite's tools: a TCP fault proxy (`FaultProxy`), the server as a child process
 * that can be SIGKILLed and restarted on the same database (`GateServer`), the seedable random
 * source behind the faults (`Random`), a bounded wait (`Wait.until`), and the live SDK layer in a
 * Scope the test closes, with its logs captured (`Sdk.live`).
 */
export * as FaultProxy from "./FaultProxy.js"
export * as GateServer from "./GateServer.js"
export * as Random from "./Random.js"
export * as Wait from "./Wait.js"
export * as Sdk from "./Sdk.js"
