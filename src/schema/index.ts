/**
 * The wire contract v1 in one place: every record, the rules file and the HTTP API.
 *
 * @since 0.1.0
 */
export * from "./Common.js"
export * from "./DecisionRecord.js"
export * from "./DecisionValue.js"
export * as ErrorBody from "./ErrorBody.js"
export * from "./Flag.js"
export * from "./Ingest.js"
export * from "./LeashRequest.js"
export * from "./LeashState.js"
export * from "./ReviewerDecision.js"
export * from "./RiskSignals.js"
export * as Rules from "./Rules.js"
export * from "./StepRecord.js"
export * from "./TrailRecord.js"
export * as ApiError from "./ApiError.js"
export * from "./ApiKey.js"
export * from "./Dashboard.js"
export * as Api from "./Api.js"
export * as Audit from "./Audit.js"
