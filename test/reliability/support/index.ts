/**
 * The reliability suite's tools: a TCP fault proxy (`FaultProxy`), the server as a child process
 * that can be SIGKILLed and restarted on the same database (`GateServer`), the seedable random
 * source behind the faults (`Random`), and a bounded wait (`Wait.until`).
 */
export * as FaultProxy from "./FaultProxy.js"
export * as GateServer from "./GateServer.js"
export * as Random from "./Random.js"
export * as Wait from "./Wait.js"
