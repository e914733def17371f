import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, rejectWire, toWire } from "./helpers.js"

describe("ErrorBody", () => {
  it("is {error: {code, message}}", () => {
    const body = Wire.ErrorBody.make("already_decided", "leash was already decided: approved")
    expect(toWire(Wire.ErrorBody.ErrorBody, body)).toEqual({
      error: { code: "already_decided", message: "leash was already decided: approved" }
    })
    expect(fromWire(Wire.ErrorBody.ErrorBody, { error: { code: "not_found", message: "no such leash" } })).toEqual(
      { error: { code: "not_found", message: "no such leash" } }
    )
  })

  it("refuses a code that is not snake_case, and a body without error", () => {
    const code = rejectWire(Wire.ErrorBody.ErrorBody, { error: { code: "NotFound", message: "" } })
    expect(code.paths).toEqual(["error.code"])
    expect(code.tree).toContain("expected a snake_case code")
    expect(rejectWire(Wire.ErrorBody.ErrorBody, { message: "oops" }).paths).toEqual(["error"])
  })
})
