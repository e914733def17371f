/**
 * v1.1: `GET /v1/openapi.json` serves an OpenAPI 3.1 document that a strict JSON Schema
 * 2020-12 validator (Ajv) accepts, and that is true to the server: requests generated from it
 * that it calls valid are accepted (never 400, 413 or 422), and requests it calls invalid are
 * refused with the error body.
 */
import { describe, expect, it } from "@effect/vitest"
import AjvModule from "ajv/dist/2020.js"
import { Effect } from "effect"
import * as Crypto from "node:crypto"
import { type Client, type Running, startServer } from "./helpers.js"

type Json = Record<string, any>

// ajv ships CommonJS: its default export is the class under `default`
const Ajv2020 = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as unknown as new(
  options: object
) => {
  addKeyword: (k: string) => void
  addFormat: (name: string, format: (s: string) => boolean) => void
  addSchema: (schema: object, key: string) => void
  getSchema: (ref: string) => ((data: unknown) => boolean) | undefined
}

/** Ajv, draft 2020-12, strict about schemas, with the document's top-level keys allowed. */
const validatorOf = (doc: Json) => {
  const ajv = new Ajv2020({ strictSchema: true, strictTypes: false, allErrors: true })
  for (const key of ["openapi", "info", "paths", "components", "security", "tags", "servers", "webhooks"]) {
    ajv.addKeyword(key)
  }
  ajv.addFormat("uuid", (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s))
  ajv.addFormat("date-time", (s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s)
  ajv.addSchema(doc, "openapi.json")
  return (pointer: string) => {
    const validate = ajv.getSchema(`openapi.json#${pointer}`)
    if (validate === undefined) throw new Error(`no schema at ${pointer}`)
    return validate
  }
}

const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1")

const resolve = (doc: Json, schema: Json): Json => {
  let s = schema
  while (typeof s["$ref"] === "string") {
    s = s["$ref"].slice(2).split("/").reduce((o: Json, k: string) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc)
  }
  return s
}

/** A few values of a schema (validity is then decided by the validator, not by this). */
const samples = (doc: Json, schema0: Json, depth = 0): Array<unknown> => {
  const schema = resolve(doc, schema0)
  if (depth > 8) return [null]
  if (schema["const"] !== undefined) return [schema["const"]]
  if (Array.isArray(schema["enum"])) return schema["enum"]
  if (Array.isArray(schema["anyOf"])) return schema["anyOf"].flatMap((s: Json) => samples(doc, s, depth + 1))
  if (Array.isArray(schema["oneOf"])) return schema["oneOf"].flatMap((s: Json) => samples(doc, s, depth + 1))
  if (Array.isArray(schema["allOf"]) && schema["type"] === undefined && schema["properties"] === undefined) {
    const merged = Object.assign({}, ...schema["allOf"].map((s: Json) => resolve(doc, s)), { ...schema, allOf: undefined })
    return samples(doc, merged, depth + 1)
  }
  switch (schema["type"]) {
    case "object": {
      const props: Json = schema["properties"] ?? {}
      const required: Array<string> = schema["required"] ?? []
      const build = (keys: Array<string>, pick: number) => {
        const out: Json = {}
        for (const key of keys) {
          const values = samples(doc, props[key], depth + 1)
          out[key] = values[Math.min(pick, values.length - 1)]
        }
        return out
      }
      const all = Object.keys(props)
      return [build(required, 0), build(all, 0), build(all, 1), build(all, 2), build(all, 3)]
    }
    case "array":
      return [[], ...samples(doc, schema["items"] ?? {}, depth + 1).slice(0, 5).map((item) => [item])]
    case "string": {
      if (schema["format"] === "uuid") return [Crypto.randomUUID()]
      if (schema["format"] === "date-time" || /T\\d\{2\}/.test(String(schema["pattern"] ?? ""))) {
        return [new Date().toISOString()]
      }
      return ["x".repeat(Math.max(1, schema["minLength"] ?? 1))]
    }
    case "integer":
    case "number": {
      const min = schema["minimum"] ?? (schema["exclusiveMinimum"] !== undefined ? schema["exclusiveMinimum"] + 1 : 0)
      const max = schema["maximum"] ?? min + 10
      return [min, max, Math.floor((min + max) / 2)]
    }
    case "boolean":
      return [true, false]
    default:
      return [{ any: ["json", 1, null] }]
  }
}

/** Values of the wrong type for a schema. */
const wrongTypes = (doc: Json, schema0: Json): Array<unknown> => {
  const schema = resolve(doc, schema0)
  const type = schema["type"] ?? (Array.isArray(schema["enum"]) ? "enum" : undefined)
  switch (type) {
    case "string":
      return [12345, null, "" + "x".repeat((schema["maxLength"] ?? 0) + 1)].slice(0, schema["maxLength"] !== undefined ? 3 : 2)
    case "enum":
      return ["not-one-of-them"]
    case "integer":
    case "number":
      return ["12", -1e12]
    case "boolean":
      return ["true"]
    case "object":
      return [[1], "x"]
    case "array":
      return [{}, "x"]
    default:
      return []
  }
}

interface Operation {
  readonly method: string
  readonly path: string
  readonly op: Json
}

const operationsOf = (doc: Json): Array<Operation> =>
  Object.entries(doc["paths"] as Json).flatMap(([path, item]) =>
    Object.entries(item as Json).map(([method, op]) => ({ method: method.toUpperCase(), path, op: op as Json }))
  )

const clientFor = (s: Running, op: Json): Client =>
  (op["tags"] ?? []).includes("reviewer") ? s.reviewer : (op["tags"] ?? []).includes("agent") ? s.agent : s.anonymous

const bodyPointer = (o: Operation) =>
  `/paths/${escape(o.path)}/${o.method.toLowerCase()}/requestBody/content/application~1json/schema`

const urlOf = (o: Operation, query: Record<string, string> = {}) => {
  const path = o.path.replace(/\{[^}]+\}/g, () => Crypto.randomUUID())
  const search = new URLSearchParams(query).toString()
  return search === "" ? path : `${path}?${search}`
}

const expectErrorBody = (answer: { status: number; body: any }, what: string) => {
  expect(answer.status, what).toBe(400)
  expect(typeof answer.body?.error?.code, what).toBe("string")
  expect(typeof answer.body?.error?.message, what).toBe("string")
}

describe("GET /v1/openapi.json", () => {
  it.scopedLive("is an OpenAPI 3.1 document a strict 2020-12 validator accepts, for every schema in it", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const answer = yield* s.anonymous.get("/v1/openapi.json")
      expect(answer.status).toBe(200)
      expect(answer.headers.get("content-type")).toContain("application/json")
      const doc = answer.body as Json
      expect(doc["openapi"]).toMatch(/^3\.1\./)
      expect(JSON.stringify(doc)).not.toContain("\"$id\"")
      const schemaAt = validatorOf(doc)
      for (const name of Object.keys(doc["components"]["schemas"])) schemaAt(`/components/schemas/${escape(name)}`)
      for (const o of operationsOf(doc)) if (o.op["requestBody"] !== undefined) schemaAt(bodyPointer(o))
      // the document describes what the server does
      const decision = resolve(doc, { $ref: "#/components/schemas/ReviewerDecision" })
      expect(decision["required"]).toStrictEqual(["decision"])
      const validDecision = schemaAt("/components/schemas/ReviewerDecision")
      expect(validDecision({ decision: "approved" })).toBe(true)
      expect(validDecision({ decision: "approved", modified_payload: {} })).toBe(false)
      expect(validDecision({ decision: "modified" })).toBe(false)
      expect(validDecision({ decision: "rejected" })).toBe(false)
      expect(validDecision({ decision: "approved", extra: 1 })).toBe(true)
      const timeout = schemaAt("/components/schemas/TimeoutSeconds")
      expect([timeout(0), timeout(0.5), timeout(86_400), timeout(86_401)]).toStrictEqual([false, true, true, false])
      expect(schemaAt("/components/schemas/Timestamp")("2026-02-30T00:00:00.000Z")).toBe(false)
    }))

  it.scopedLive("requests generated from it: the valid ones are accepted, the invalid ones refused with the error body", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const doc = (yield* s.anonymous.get("/v1/openapi.json")).body as Json
      const schemaAt = validatorOf(doc)
      let valid = 0
      let invalid = 0
      for (const o of operationsOf(doc)) {
        const client = clientFor(s, o.op)
        const query: Array<Json> = (o.op["parameters"] ?? []).filter((p: Json) => p["in"] === "query")
        // query parameters: each valid value alone, and each wrong one
        for (const p of query) {
          const schema = resolve(doc, p["schema"])
          // an opaque string (a paging cursor) has no value the document can call valid
          const described = schema["type"] === "integer" || schema["enum"] !== undefined || schema["format"] === "uuid"
          if (!described) continue
          for (const value of samples(doc, p["schema"])) {
            const answer = yield* client.request(o.method, urlOf(o, { [p["name"]]: String(value) }))
            expect([400, 413, 422], `${o.method} ${o.path}?${p["name"]}=${value}: ${answer.text}`).not.toContain(answer.status)
            expect(answer.status).toBeLessThan(500)
            valid++
          }
          const wrong = [
            "abc",
            ...(schema["minimum"] !== undefined ? [String(schema["minimum"] - 1)] : []),
            ...(schema["maximum"] !== undefined ? [String(schema["maximum"] + 1)] : [])
          ]
          for (const value of wrong) {
            const answer = yield* client.request(o.method, urlOf(o, { [p["name"]]: value }))
            expectErrorBody(answer, `${o.method} ${o.path}?${p["name"]}=${value}`)
            invalid++
          }
        }
        if (o.op["requestBody"] === undefined) {
          if (query.length === 0) {
            const answer = yield* client.request(o.method, urlOf(o))
            expect([400, 413, 422], `${o.method} ${o.path}: ${answer.text}`).not.toContain(answer.status)
            valid++
          }
          continue
        }
        const bodySchema = o.op["requestBody"]["content"]["application/json"]["schema"]
        const validate = schemaAt(bodyPointer(o))
        const bodies = samples(doc, bodySchema).filter((b) => validate(b))
        expect(bodies.length, `${o.method} ${o.path}: no valid body generated`).toBeGreaterThan(0)
        for (const body of bodies) {
          const answer = yield* client.request(o.method, urlOf(o), { body })
          expect([400, 413, 422], `${o.method} ${o.path} ${JSON.stringify(body)}: ${answer.text}`).not.toContain(answer.status)
          expect(answer.status).toBeLessThan(500)
          valid++
        }
        // invalid bodies: each required key left out, each property of the wrong type
        const base = bodies[bodies.length - 1] as Json
        const shape = resolve(doc, bodySchema)
        const mutants: Array<Json> = []
        for (const key of shape["required"] ?? []) {
          const { [key]: _, ...rest } = base
          mutants.push(rest)
        }
        for (const [key, propSchema] of Object.entries(shape["properties"] ?? {})) {
          for (const wrong of wrongTypes(doc, propSchema as Json)) mutants.push({ ...base, [key]: wrong })
          // one level down: the first record of a list (a trail, a step) broken the same ways
          const items = resolve(doc, propSchema as Json)["items"]
          if (items === undefined) continue
          const record = bodies.map((b) => (b as Json)[key]?.[0]).find((r) => r !== undefined && typeof r === "object")
          if (record === undefined) continue
          const itemShape = resolve(doc, items)
          for (const required of itemShape["required"] ?? []) {
            const { [required]: _, ...rest } = record
            mutants.push({ ...base, [key]: [rest] })
          }
          for (const [inner, innerSchema] of Object.entries(itemShape["properties"] ?? {})) {
            for (const wrong of wrongTypes(doc, innerSchema as Json)) mutants.push({ ...base, [key]: [{ ...record, [inner]: wrong }] })
          }
        }
        for (const body of mutants) {
          if (validate(body)) continue
          const answer = yield* client.request(o.method, urlOf(o), { body })
          expectErrorBody(answer, `${o.method} ${o.path} ${JSON.stringify(body).slice(0, 300)}: ${answer.text}`)
          invalid++
        }
      }
      expect(valid).toBeGreaterThan(20)
      expect(invalid).toBeGreaterThan(40)
    }), 60_000)
})
