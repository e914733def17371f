import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"

describe("keyRole", () => {
  it("reads the role from the key's prefix", () => {
    expect(Wire.keyRole("sk-hnd-0123abcd")).toBe("agent")
    expect(Wire.keyRole("rv-hnd-0123abcd")).toBe("reviewer")
  })

  it("gives no role to anything else", () => {
    for (const key of ["", "sk-hnd-", "rv-hnd-", "sk-live-0123", "SK-HND-0123", " sk-hnd-0123", "hnd-0123"]) {
      expect(Wire.keyRole(key)).toBeUndefined()
    }
  })
})

describe("roles", () => {
  it("lets a reviewer do what an agent does, and only a reviewer review", () => {
    expect(Wire.canActAsAgent("agent")).toBe(true)
    expect(Wire.canActAsAgent("reviewer")).toBe(true)
    expect(Wire.canReview("reviewer")).toBe(true)
    expect(Wire.canReview("agent")).toBe(false)
  })
})
