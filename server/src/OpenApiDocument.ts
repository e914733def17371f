/**
 * v1.1: the OpenAPI 3.1 document served at `GET /v1/openapi.json`, generated from the same
 * `HttpApi` the server is built from (`Wire.Api.HoundsightApi`, through `OpenApi.fromApi`), then
 * made valid and true to what the server does:
 *
 * - `OpenApi.fromApi` gives every `unknown` value (a payload, an input) the same
 *   `$id: "/schemas/unknown"`; a JSON Schema 2020-12 validator refuses a document that repeats an
 *   `$id`. Every `$id` is dropped (the schemas are reached by `$ref` to `components`).
 * - The server ignores fields it does not know (every decode is `onExcessProperty: "ignore"`), so
 *   `additionalProperties: false` is dropped.
 * - The `400` answer is the contract's error body only: the server never answers the
 *   `HttpApiDecodeError` shape that `HttpApi` lists.
 * - Times are `format: "date-time"` besides their pattern (the server refuses a time that is not
 *   on the calendar, such as February 30).
 * - A numeric query parameter (`limit`, `wait_seconds`) is an `integer`, with the bounds its
 *   schema accepts, found by asking that schema (a value outside a clamped range is accepted,
 *   so such a parameter has no bound).
 * - Checks a schema makes in code (a leash's timeout range, `modified_payload` only with
 *   `modified`, a rejection's `reason`) carry their own `jsonSchema` annotation where they are
 *   defined, in the SDK's `src/schema`.
 *
 * @since 0.1.0
 */
import * as OpenApi from "@effect/platform/OpenApi"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import { routesOf } from "./Http.js"

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A schema that takes any value (`unknown`): only annotations. */
const takesAnything = (u: unknown): boolean =>
  isObject(u) && Object.keys(u).every((k) => k === "title" || k === "description" || k === "$id")

/**
 * Drops every `$id` and every `additionalProperties: false`, in place; and an `unknown`
 * property (a payload, an output) is not required: the server takes a record without it, as
 * its schema does.
 */
const clean = (u: unknown): void => {
  if (Array.isArray(u)) {
    for (const item of u) clean(item)
    return
  }
  if (!isObject(u)) return
  delete u["$id"]
  if (u["additionalProperties"] === false) delete u["additionalProperties"]
  const properties = u["properties"]
  if (Array.isArray(u["required"]) && isObject(properties)) {
    u["required"] = u["required"].filter((key: unknown) => !takesAnything(properties[String(key)]))
  }
  for (const key of Object.keys(u)) clean(u[key])
}

const bound = 2 ** 31

/**
 * The integers a query parameter accepts, asked of its schema: whether it takes whole numbers
 * only, and its least and greatest accepted value (`undefined`: none, the value is clamped).
 */
const integerRange = (
  accepts: (value: string) => boolean
): { readonly minimum: number | undefined; readonly maximum: number | undefined } | undefined => {
  if (accepts("abc") || accepts("1.5")) return undefined
  let probe: number | undefined
  for (const n of [1, 0, 10, 100, -1]) {
    if (accepts(String(n))) {
      probe = n
      break
    }
  }
  if (probe === undefined) return undefined
  const search = (from: number, to: number): number => {
    // `from` is accepted, `to` is not: the last accepted integer between them
    while (Math.abs(to - from) > 1) {
      const mid = Math.trunc((from + to) / 2)
      if (accepts(String(mid))) from = mid
      else to = mid
    }
    return from
  }
  return {
    minimum: accepts(String(-bound)) ? undefined : search(probe, -bound),
    maximum: accepts(String(bound)) ? undefined : search(probe, bound)
  }
}

const operations = ["get", "post", "put", "patch", "delete"] as const

/**
 * The document, generated once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Json => {
  const doc = JSON.parse(JSON.stringify(OpenApi.fromApi(Wire.Api.HoundsightApi))) as Json
  clean(doc)
  const components = (doc["components"] as Json | undefined)?.["schemas"] as Json | undefined
  if (components !== undefined) {
    const timestamp = components["Timestamp"]
    if (isObject(timestamp)) timestamp["format"] = "date-time"
    // a leash summary's `approved` follows its decision (a check `OpenApi.fromApi` cannot see:
    // a refinement of a struct with renamed keys loses its `jsonSchema` annotation)
    const summary = components["LeashSummary"]
    if (isObject(summary)) {
      summary["allOf"] = [{
        if: {
          properties: { decision: { enum: Wire.DecisionValue.literals.filter(Wire.isApproving) } },
          required: ["decision"]
        },
        then: { properties: { approved: { const: true } } },
        else: { properties: { approved: { const: false } } }
      }]
    }
  }
  const routes = routesOf(Wire.Api.HoundsightApi)
  const paths = doc["paths"] as Record<string, Json>
  for (const path of Object.keys(paths)) {
    for (const method of operations) {
      const operation = paths[path]![method]
      if (!isObject(operation)) continue
      // the 400 answer: the contract's error body, never HttpApiDecodeError
      const responses = operation["responses"] as Json
      const bad = responses["400"] as Json | undefined
      const content = bad?.["content"] as Json | undefined
      const json = content?.["application/json"] as Json | undefined
      if (json !== undefined) json["schema"] = { $ref: "#/components/schemas/BadRequestBody" }
      // numeric query parameters, with the bounds their schema accepts
      const route = routes.find((r) => `${r.group}.${r.name}` === operation["operationId"])
      const params = route === undefined ? Option.none() : route.endpoint.urlParamsSchema
      if (Option.isNone(params)) continue
      const decode = Schema.decodeUnknownEither(params.value as Schema.Schema<unknown, unknown, never>)
      for (const parameter of (operation["parameters"] as Array<Json> | undefined) ?? []) {
        if (parameter["in"] !== "query") continue
        const name = String(parameter["name"])
        const range = integerRange((value) => Either.isRight(decode({ [name]: value })))
        if (range === undefined) continue
        const description = typeof parameter["description"] === "string" ? parameter["description"] : undefined
        parameter["schema"] = {
          type: "integer",
          ...(range.minimum !== undefined ? { minimum: range.minimum } : {}),
          ...(range.maximum !== undefined ? { maximum: range.maximum } : {}),
          ...(description !== undefined ? { description } : {})
        }
      }
    }
  }
  if (components !== undefined) {
    delete components["HttpApiDecodeError"]
    const text = JSON.stringify(doc)
    for (const name of ["Issue", "PropertyKey", "WaitSeconds", "ListLimit"]) {
      if (!text.includes(`"#/components/schemas/${name}"`)) delete components[name]
    }
    // a second pass: Issue referred to PropertyKey only from HttpApiDecodeError
    const again = JSON.stringify(doc)
    for (const name of ["PropertyKey"]) {
      if (!again.includes(`"#/components/schemas/${name}"`)) delete components[name]
    }
  }
  paths["/v1/openapi.json"] = {
    get: {
      tags: ["health"],
      operationId: "health.openapi",
      description: "This document: the OpenAPI 3.1 description of contract v1.1.",
      security: [],
      responses: {
        "200": { description: "The OpenAPI document", content: { "application/json": { schema: { type: "object" } } } }
      }
    }
  }
  const ingest = (paths["/v1/ingest"] as Json | undefined)?.["post"] as Json | undefined
  const status = {
    description: "A google.rpc.Status (OTLP/HTTP answers with it, not with the contract's error body), in the request's encoding",
    content: {
      "application/json": {
        schema: { type: "object", properties: { code: { type: "integer" }, message: { type: "string" } } }
      },
      "application/x-protobuf": { schema: { type: "string", format: "binary" } }
    }
  }
  paths["/v1/traces"] = {
    post: {
      tags: ["agent"],
      operationId: "agent.traces",
      description: "OTLP/HTTP traces (ExportTraceServiceRequest, protobuf or JSON, gzip or not): each trace a trail, " +
        "each span a step, mapped as docs/otlp.md says. Here the OTLP/HTTP specification wins over the contract's " +
        "error body: failures are a google.rpc.Status; spans that cannot be records are counted in partial_success.",
      ...(ingest?.["security"] !== undefined ? { security: ingest["security"] } : {}),
      requestBody: {
        required: true,
        content: {
          "application/x-protobuf": { schema: { type: "string", format: "binary" } },
          "application/json": { schema: { type: "object", description: "ExportTraceServiceRequest in OTLP/JSON" } }
        }
      },
      responses: {
        "200": {
          description: "ExportTraceServiceResponse, with partial_success when spans were rejected",
          content: {
            "application/json": { schema: { type: "object" } },
            "application/x-protobuf": { schema: { type: "string", format: "binary" } }
          }
        },
        "400": status,
        "401": status,
        "403": status,
        "413": status,
        "415": status,
        "429": status,
        "503": status
      }
    }
  }
  doc["info"] = {
    ...(doc["info"] as Json),
    description: "Houndsight wire contract v1.1 (DESIGN.md section 2). Every non-2xx answer is " +
      "{\"error\": {\"code\", \"message\"}}. Limits no schema can say: a body is at most 5 MiB; a leash payload and a " +
      "modified_payload at most 262,144 bytes of compact UTF-8 JSON, risk_signals at most 16 KiB, a trail or step " +
      "record at most 256 KiB (else 413). Ids are compared in lowercase."
  }
  return doc
}
