import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Wire } from "houndsight"
import { ids, t0, toWire } from "./helpers.js"

const { ApiError } = Wire

const cases = [
  [ApiError.BadRequest, ApiError.BadRequestBody, 400, "bad_request"],
  [ApiError.Unauthorized, ApiError.UnauthorizedBody, 401, "unauthorized"],
  [ApiError.Forbidden, ApiError.ForbiddenBody, 403, "forbidden"],
  [ApiError.NotFound, ApiError.NotFoundBody, 404, "not_found"],
  [ApiError.Conflict, ApiError.ConflictBody, 409, "already_decided"],
  [ApiError.PayloadTooLarge, ApiError.PayloadTooLargeBody, 413, "payload_too_large"],
  [ApiError.Unprocessable, ApiError.UnprocessableBody, 422, "idempotency_conflict"],
  [ApiError.InternalServerError, ApiError.InternalServerErrorBody, 500, "internal"],
  [ApiError.ServiceUnavailable, ApiError.ServiceUnavailableBody, 503, "unavailable"]
] as const

describe("error answers", () => {
  it.each(cases)("%o goes out as {error: {code, message}} with its status", (Class, Body, status, code) => {
    const error = new Class({ message: "what went wrong" })
    expect(error.code).toBe(code)
    expect(ApiError.statusOf(error)).toBe(status)
    const wire = toWire(Body as Schema.Schema<unknown, Wire.ErrorBody.ErrorBody>, error)
    expect(wire).toEqual({ error: { code, message: "what went wrong" } })
    const back = Schema.decodeUnknownSync(Body as Schema.Schema<unknown, Wire.ErrorBody.ErrorBody>)(wire)
    expect(back).toBeInstanceOf(Class)
    expect(back).toMatchObject({ code, message: "what went wrong" })
  })

  it("keeps a specific code", () => {
    const error = new ApiError.BadRequest({ code: "invalid_json", message: "body is not JSON" })
    expect(toWire(ApiError.BadRequestBody, error)).toEqual({ error: { code: "invalid_json", message: "body is not JSON" } })
  })

  it("refuses a code that is not snake_case when it is made", () => {
    expect(() => new ApiError.Conflict({ code: "AlreadyDecided", message: "" })).toThrow("expected a snake_case error code")
  })

  it("is a typed failure a handler can catch by tag", () =>
    Effect.runPromise(
      Effect.fail(new ApiError.NotFound({ message: "no such leash" })).pipe(
        Effect.catchTag("NotFound", (e) => Effect.succeed(e.message)),
        Effect.map((message) => expect(message).toBe("no such leash"))
      )
    ))
})

describe("fromParseError", () => {
  it("names every failing field in one line", () => {
    const result = Schema.decodeUnknownEither(Wire.IngestBatch, { errors: "all" })({
      trails: [],
      steps: [{
        id: ids.step,
        parent_id: null,
        seq: 1,
        name: "x",
        layer: "dream",
        status: "ok",
        started_at: t0,
        ended_at: t0,
        events: []
      }]
    })
    if (result._tag === "Right") throw new Error("expected a failure")
    const message = ApiError.fromParseError(result.left).message
    expect(message).toBe(
      "steps[0].trail_id: is missing; steps[0].layer: expected one of plan, retrieve, reason, execute, review, respond, got \"dream\""
    )
  })

  it("gives a 400 bad_request", () => {
    const result = Schema.decodeUnknownEither(Wire.Tokens)({ input: -1, output: 0 })
    if (result._tag === "Right") throw new Error("expected a failure")
    const error = ApiError.fromParseError(result.left)
    expect(error).toBeInstanceOf(ApiError.BadRequest)
    expect(error.code).toBe("bad_request")
    expect(error.message).toBe("input: Expected a non-negative number, actual -1")
  })

  it("shows at most five issues and counts the rest", () => {
    const issues = Array.from({ length: 8 }, (_, i) => ({ path: ["steps", i, "seq"], message: "bad" }))
    expect(ApiError.describeIssues(issues)).toBe(
      "steps[0].seq: bad; steps[1].seq: bad; steps[2].seq: bad; steps[3].seq: bad; steps[4].seq: bad; and 3 more"
    )
    expect(ApiError.describeIssues([])).toBe("the request does not match the contract")
    expect(ApiError.describeIssues([{ path: [], message: "expected an object" }])).toBe("expected an object")
  })
})
