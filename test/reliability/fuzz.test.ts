/**
 * Fuzzed input to every endpoint of the gate server, sent with `node:http` (or a bare socket) so
 * the bytes are exactly the ones chosen: random JSON, valid bodies with fields removed, replaced
 * by values of the wrong type, huge strings or deep nesting, extra keys, bodies cut short, bytes
 * that are not UTF-8, random paths, queries and keys, and requests that are not HTTP at all.
 *
 * Whatever arrives, the answer is a 4xx with the contract's error body
 * `{"error": {"code", "message"}}`, never a 5xx, never a crash (the server answers the next
 * request), and nothing is written: the database sees no commit (SQLite's `data_version`), and
 * when it does, the rows that changed are named.
 *
 * The dashboard's forms are fuzzed too: never a 5xx, and a write only as the recorded decision
 * the form asked for.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Schema, type Scope } from "effect"
import { Wire } from "houndsight"
import { Http } from "../../server/src/index.js"
import { leashRequest, stepRecord, trailRecord } from "../../server/test/helpers.js"
import {
  type Answer,
  isErrorBody,
  rawExchange,
  rawHttp,
  type RawRequest,
  reader,
  type Running,
  type Snapshot,
  start
} from "./server-side/harness.js"
import { csrfOf, tab } from "./server-side/browser.js"

// -----------------------------------------------------------------------------------------------
// Oracles: what the contract says about a body, independent of the server
// -----------------------------------------------------------------------------------------------

/** Deepest JSON nesting the server reads (arrays and objects); deeper bodies are a 400. */
const maxDepth = Http.maxJsonDepth

const utf8 = new TextDecoder("utf-8", { fatal: true })

const depthOf = (text: string): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) max = Math.max(max, ++depth)
    else if (c === 93 || c === 125) depth--
  }
  return max
}

/** Whether the server must accept `bytes` as a body for `schema` (else it must answer 4xx). */
const acceptable = (schema: Schema.Schema<any, any>, bytes: Uint8Array): boolean => {
  if (bytes.length === 0 || bytes.length > Wire.maxIngestBytes) return false
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return false
  }
  if (depthOf(text) > maxDepth) return false
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return false
  }
  return Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>, { onExcessProperty: "ignore" })(json)._tag ===
    "Right"
}

// -----------------------------------------------------------------------------------------------
// Mutations of valid bodies
// -----------------------------------------------------------------------------------------------

type Path = ReadonlyArray<string | number>

const pathsOf = (value: unknown, prefix: Path = []): Array<Path> => {
  const out: Array<Path> = []
  if (Array.isArray(value)) {
    value.forEach((item, i) => out.push([...prefix, i], ...pathsOf(item, [...prefix, i])))
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) out.push([...prefix, key], ...pathsOf(item, [...prefix, key]))
  }
  return out
}

const objectPathsOf = (value: unknown): Array<Path> =>
  [[], ...pathsOf(value)].filter((p) => {
    const v = getAt(value, p)
    return v !== null && typeof v === "object" && !Array.isArray(v)
  })

const getAt = (value: unknown, path: Path): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value)

const remove = Symbol("remove")

/** Sets an own key, even one named `__proto__`. */
const define = (target: Record<string, unknown>, key: string, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })

/** A copy of `value` with `path` set to `replacement` (or removed). */
const setAt = (value: unknown, path: Path, replacement: unknown): unknown => {
  if (path.length === 0) return replacement
  const [head, ...rest] = path
  if (Array.isArray(value)) {
    const copy = [...value]
    if (replacement === remove && rest.length === 0) copy.splice(head as number, 1)
    else copy[head as number] = setAt(copy[head as number], rest, replacement)
    return copy
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  if (replacement === remove && rest.length === 0) delete copy[head as string]
  else define(copy, head as string, setAt(copy[head as string], rest, replacement))
  return copy
}

/** Deeply nested arrays or objects around a value. */
const nested = (depth: number, kind: "array" | "object"): string =>
  kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)

/** A value of the wrong kind for almost any field. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e-308, 86_401, "", " ", "NaN", "1e400", [], {}, [null], { "": null }),
  fc.string({ minLength: 257, maxLength: 300 }),
  fc.integer({ min: 4_097, max: 6_000 }).map((n) => "x".repeat(n)),
  fc.constantFrom("<script>alert(1)</script>", "\u0000", "\ud800", "\u202e", "'; DROP TABLE leashes; --", "__proto__"),
  fc.uuid().map((u) => `${u} `),
  fc.uuid().map((u) => u.replace(/-/g, ""))
)

type Mutation =
  | { readonly kind: "replace"; readonly path: Path; readonly value: unknown }
  | { readonly kind: "remove"; readonly path: Path }

interface Extra {
  readonly path: Path
  readonly key: string
  readonly value: unknown
}

const apply = (valid: unknown, mutations: ReadonlyArray<Mutation>, extras: ReadonlyArray<Extra>): unknown => {
  let body = valid
  for (const m of mutations) {
    try {
      body = setAt(body, m.path, m.kind === "remove" ? remove : m.value)
    } catch {
      // an earlier mutation removed the path: skip this one
    }
  }
  for (const e of extras) {
    const target = (() => {
      try {
        return getAt(body, e.path)
      } catch {
        return undefined
      }
    })()
    if (target !== null && typeof target === "object" && !Array.isArray(target)) {
      body = setAt(body, [...e.path, e.key], e.value)
    }
  }
  return body
}

/** A body to send: its bytes and how it was made (for the counterexample). */
interface Body {
  readonly how: string
  readonly bytes: Uint8Array
}

/** A body that prints as how it was made (fast-check's counterexamples stay readable). */
const body = (how: string, bytes: Uint8Array): Body => ({ how, bytes, [fc.toStringMethod]: () => how } as Body)

const utf8Bytes = (text: string): Uint8Array => Buffer.from(text, "utf8")

/** Byte sequences that are never UTF-8. */
const notUtf8 = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80],
  [0x80],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80]
)

/** Every kind of broken body, made from one valid body. */
const bodies = (valid: unknown): fc.Arbitrary<Body> => {
  const text = JSON.stringify(valid)
  const paths = pathsOf(valid)
  const objects = objectPathsOf(valid)
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant("replace" as const), path: fc.constantFrom(...paths), value: weird }),
    fc.record({ kind: fc.constant("remove" as const), path: fc.constantFrom(...paths) })
  )
  const extra: fc.Arbitrary<Extra> = fc.record({
    path: fc.constantFrom(...objects),
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "", "leash_id", "id")),
    value: fc.jsonValue({ maxDepth: 2 })
  })
  const mutated = fc.tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(extra, { maxLength: 2 })).map(
    ([ms, es]) =>
      body(
        `mutated ${JSON.stringify(ms).slice(0, 300)}, extra keys ${JSON.stringify(es).slice(0, 200)}`,
        utf8Bytes(JSON.stringify(apply(valid, ms, es)) ?? "")
      )
  )
  const spliced = fc.tuple(fc.integer({ min: 0, max: text.length }), notUtf8).map(([at, bad]) =>
    body(
      `bytes ${JSON.stringify(bad)} spliced in at ${at}`,
      Buffer.concat([Buffer.from(text.slice(0, at), "utf8"), Buffer.from(bad), Buffer.from(text.slice(at), "utf8")])
    )
  )
  const deep = fc.tuple(
    fc.constantFrom(...paths),
    fc.integer({ min: maxDepth + 1, max: 50_000 }),
    fc.constantFrom<"array" | "object">("array", "object")
  ).map(([path, depth, kind]) => {
    const marker = "\u0000deep\u0000"
    const json = JSON.stringify(setAt(valid, path, marker)).replace(JSON.stringify(marker), nested(depth, kind))
    return body(`${kind}s nested ${depth} deep at ${path.join(".")}`, utf8Bytes(json))
  })
  const randomJson = fc.jsonValue().map((v) => body(`random JSON ${JSON.stringify(v).slice(0, 200)}`, utf8Bytes(JSON.stringify(v))))
  const randomText = fc.string({ unit: "binary", maxLength: 200 }).map((t) => body(`random text ${JSON.stringify(t)}`, utf8Bytes(t)))
  const randomBytes = fc.uint8Array({ maxLength: 200 }).map((b) => body(`random bytes ${Buffer.from(b).toString("hex")}`, b))
  const cut = fc.integer({ min: 0, max: text.length - 1 }).map((n) => body(`cut at ${n}`, utf8Bytes(text.slice(0, n))))
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: randomJson },
    { weight: 1, arbitrary: randomText },
    { weight: 1, arbitrary: randomBytes },
    { weight: 2, arbitrary: cut },
    { weight: 2, arbitrary: spliced },
    { weight: 2, arbitrary: deep }
  )
}

// -----------------------------------------------------------------------------------------------
// The checks
// -----------------------------------------------------------------------------------------------

/** The answer is a 4xx with the contract's error body, as JSON. */
const expectRefused = (answer: Answer, context: string) => {
  const where = `${context} → ${answer.status} ${answer.text.slice(0, 300)}`
  expect(answer.status, where).toBeGreaterThanOrEqual(400)
  expect(answer.status, where).toBeLessThan(500)
  expect(isErrorBody(answer.body), where).toBe(true)
  expect(answer.headers.get("content-type") ?? "", where).toContain("application/json")
}

/** The rows that differ between two snapshots, by table: none when nothing was written. */
const changes = (before: Snapshot, after: Snapshot): Array<string> => {
  const out: Array<string> = []
  for (const table of Object.keys(before) as Array<keyof Snapshot>) {
    const a = before[table].map((r) => JSON.stringify(r))
    const b = after[table].map((r) => JSON.stringify(r))
    for (const row of b) if (!a.includes(row)) out.push(`${table}: added or changed ${row.slice(0, 300)}`)
    for (const row of a) if (!b.includes(row)) out.push(`${table}: removed or changed ${row.slice(0, 300)}`)
  }
  return out
}

/**
 * Watches the database for writes: each run of the answered effect reports what was written
 * since the last one (nothing: `[]`). It reads SQLite's `data_version` (which any commit by the
 * server changes) and, only when it moved, compares every row; then it starts afresh, so a write
 * is blamed on the request that made it and on no later one. What the server writes on its own
 * (its heartbeat, the webhook worker's fan-out of events earlier requests wrote) is not a
 * request's write: a commit that left every watched row as it was while those rows moved is
 * theirs.
 */
const writeWatch = (s: Running): Effect.Effect<Effect.Effect<Array<string>>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const db = yield* reader(s.db)
    let version = yield* db.version
    let rows = yield* db.snapshot
    let background = yield* db.background
    return Effect.gen(function*() {
      const now = yield* db.version
      if (now === version) return []
      const after = yield* db.snapshot
      const own = yield* db.background
      const diff = changes(rows, after)
      const moved = own !== background
      version = now
      rows = after
      background = own
      return diff.length > 0 ? diff : moved ? [] : ["a commit that left every row as it was"]
    })
  })

const run = <A>(effect: Effect.Effect<A>): Promise<A> => Effect.runPromise(effect)

/**
 * Sends every fuzzed request of `arbitrary` (skipping the ones the contract accepts), and checks
 * each answer is a refusal and the database did not change.
 */
const fuzz = <T>(
  s: Running,
  arbitrary: fc.Arbitrary<T>,
  send: (value: T) => { readonly request: RawRequest; readonly acceptable: boolean; readonly how: string },
  numRuns: number
) =>
  Effect.gen(function*() {
    const writes = yield* writeWatch(s)
    yield* Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(arbitrary, async (value) => {
          const { acceptable: ok, how, request } = send(value)
          fc.pre(!ok)
          const answer = await run(rawHttp(s.url, request))
          const written = await run(writes)
          expectRefused(answer, `${request.method} ${request.path.slice(0, 200)} with ${how}`)
          expect(written, `${how}: the database changed`).toStrictEqual([])
        }),
        { numRuns }
      )
    )
    expect((yield* s.anonymous.get("/healthz")).status).toBe(200)
  })

const json = (key: string | undefined) => ({
  "content-type": "application/json",
  ...(key === undefined ? {} : { authorization: `Bearer ${key}` })
})

// -----------------------------------------------------------------------------------------------
// The tests
// -----------------------------------------------------------------------------------------------

describe("fuzzed bodies", () => {
  it.scopedLive("POST /v1/ingest: every broken batch is a 4xx error body, and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const trail = trailRecord({ status: "ok", ended_at: "2026-11-24T09:00:01.000Z", output: { text: "done" }, tags: { env: "test" } })
      const valid = {
        trails: [trail],
        steps: [
          stepRecord(trail.id, 1, "search", {
            input: { q: "Q2" },
            output: { hits: [1, 2] },
            cost_usd: 0.01,
            tokens: { input: 1, output: 2 },
            events: [{ name: "cache_hit", at: "2026-11-24T09:00:00.500Z", attributes: { key: "k" } }],
            error: { type: "Boom", message: "no" }
          })
        ]
      }
      yield* fuzz(s, bodies(valid), (body) => ({
        how: body.how,
        acceptable: acceptable(Wire.IngestBatch, body.bytes),
        request: { method: "POST", path: "/v1/ingest", headers: json(s.agentKey), body: body.bytes }
      }), 100)
    }), 120_000)

  it.scopedLive("POST /v1/leashes: every broken leash request is a 4xx error body, and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const valid = leashRequest()
      yield* fuzz(s, bodies(valid), (body) => ({
        how: body.how,
        acceptable: acceptable(Wire.LeashRequest, body.bytes),
        request: { method: "POST", path: "/v1/leashes", headers: json(s.agentKey), body: body.bytes }
      }), 100)
    }), 120_000)

  it.scopedLive(
    "POST /v1/leashes/{id}/decision: every broken decision is a 4xx error body; the leash stays pending",
    () =>
      Effect.gen(function*() {
        const s = yield* start()
        const leash = leashRequest({ timeout_seconds: 86_400 })
        expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
        const valid = { decision: "modified", reason: "capped", modified_payload: { customer: "cus_42", amount_usd: 100 } }
        yield* fuzz(s, bodies(valid), (body) => ({
          how: body.how,
          acceptable: acceptable(Wire.ReviewerDecision, body.bytes),
          request: {
            method: "POST",
            path: `/v1/leashes/${leash.leash_id}/decision`,
            headers: json(s.reviewerKey),
            body: body.bytes
          }
        }), 100)
        expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.status).toBe("pending")
      }),
    120_000
  )

  it.scopedLive("a body over 5 MiB is a 413 error body on every endpoint that reads one, and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const leash = leashRequest({ timeout_seconds: 86_400 })
      expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      const writes = yield* writeWatch(s)
      const huge = JSON.stringify({ ...leashRequest(), payload: "x".repeat(Wire.maxIngestBytes) })
      for (
        const [path, key] of [
          ["/v1/ingest", s.agentKey],
          ["/v1/leashes", s.agentKey],
          [`/v1/leashes/${leash.leash_id}/decision`, s.reviewerKey]
        ] as const
      ) {
        const answer = yield* rawHttp(s.url, { method: "POST", path, headers: json(key), body: huge })
        expectRefused(answer, `POST ${path} with ${huge.length} bytes`)
        expect(answer.status).toBe(413)
        expect(answer.body.error.code).toBe("payload_too_large")
      }
      expect(yield* writes).toStrictEqual([])
    }), 60_000)
})

describe("fuzzed paths, queries and keys", () => {
  /** A path segment: random text (encoded), or a UUID nobody created, or raw oddities. */
  const segment = fc.oneof(
    fc.string({ minLength: 1, maxLength: 60 }).map(encodeURIComponent),
    fc.uuid(),
    fc.constantFrom("%ZZ", "%E0%A4%A", "%00", "..", "%2F..%2F", "%2e%2e", "null", "undefined", "0", "-1", "a".repeat(5000))
  )
  const queryValue = fc.oneof(
    fc.string({ maxLength: 20 }).map(encodeURIComponent),
    fc.constantFrom("", "0", "-1", "1.5", "1e400", "NaN", "500", "501", "31", "%ZZ", "1&limit=2", "%205", "0x10", "5%00")
  )

  it.scopedLive("every endpoint: bad path parameters, bad queries and unknown ids are 4xx error bodies, nothing written", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const decodes = (schema: Schema.Schema<any, any>, value: unknown) =>
        Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)(value)._tag === "Right"
      type Probe = { readonly method: string; readonly path: string; readonly key: string; readonly query: Record<string, string> }
      const probe: fc.Arbitrary<Probe> = fc.oneof(
        fc.tuple(segment, fc.option(queryValue, { nil: undefined })).map(([id, wait]) => ({
          method: "GET",
          path: `/v1/leashes/${id}`,
          key: s.agentKey,
          query: wait === undefined ? {} : { wait_seconds: wait }
        })),
        segment.map((id) => ({ method: "POST", path: `/v1/leashes/${id}/cancel`, key: s.agentKey, query: {} })),
        segment.map((id) => ({ method: "GET", path: `/v1/trails/${id}`, key: s.reviewerKey, query: {} })),
        queryValue.map((limit) => ({ method: "GET", path: "/v1/trails", key: s.reviewerKey, query: { limit } })),
        fc.tuple(queryValue, queryValue).map(([status, limit]) => ({
          method: "GET",
          path: "/v1/leashes",
          key: s.reviewerKey,
          query: { status, limit }
        })),
        fc.tuple(segment, queryValue).map(([trailId, limit]) => ({
          method: "GET",
          path: "/v1/flags",
          key: s.reviewerKey,
          query: { trail_id: trailId, limit }
        })),
        fc.tuple(fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"), fc.array(segment, { minLength: 1, maxLength: 3 }))
          .map(([method, segments]) => ({ method, path: `/v1/${segments.join("/")}`, key: s.reviewerKey, query: {} }))
      )
      // What the contract accepts, decoded by its own schemas (URL-decoded as the server does).
      const accepted = (p: Probe): boolean => {
        const raw = (v: string) => {
          try {
            return decodeURIComponent(v)
          } catch {
            return undefined
          }
        }
        const query = Object.fromEntries(Object.entries(p.query).map(([k, v]) => [k, raw(v)]))
        if (Object.values(query).includes(undefined)) return false
        if (p.method === "GET" && p.path === "/v1/trails") return decodes(Wire.Api.TrailListParams, query)
        if (p.method === "GET" && p.path === "/v1/leashes") return decodes(Wire.Api.LeashListParams, query)
        if (p.method === "GET" && p.path === "/v1/flags") return decodes(Wire.Api.FlagListParams, query)
        // every other probe names an id nobody created, or no endpoint at all
        return false
      }
      yield* fuzz(s, probe, (p) => {
        const query = Object.entries(p.query).map(([k, v]) => `${k}=${v}`).join("&")
        return {
          how: `${p.method} ${p.path}?${query}`.slice(0, 300),
          acceptable: accepted(p),
          request: { method: p.method, path: query === "" ? p.path : `${p.path}?${query}`, headers: { authorization: `Bearer ${p.key}` } }
        }
      }, 200)
    }), 120_000)

  it.scopedLive("every endpoint: a missing, malformed or unknown key is a 401 error body, nothing written", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const leash = leashRequest({ timeout_seconds: 86_400 })
      expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      const endpoints: ReadonlyArray<readonly [string, string, unknown]> = [
        ["POST", "/v1/ingest", { trails: [], steps: [] }],
        ["POST", "/v1/leashes", leashRequest()],
        ["GET", `/v1/leashes/${leash.leash_id}`, undefined],
        ["POST", `/v1/leashes/${leash.leash_id}/cancel`, undefined],
        ["POST", `/v1/leashes/${leash.leash_id}/decision`, { decision: "approved", reason: "ok" }],
        ["GET", "/v1/trails", undefined],
        ["GET", `/v1/trails/${leash.trail_id}`, undefined],
        ["GET", "/v1/leashes?status=pending", undefined],
        ["GET", "/v1/flags", undefined]
      ]
      const header = fc.oneof(
        fc.constant(undefined),
        fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
        fc.stringMatching(/^[\x21-\x7e]{1,60}$/).map((k) => `Bearer ${k}`),
        fc.constantFrom(
          "Bearer",
          "Bearer ",
          "bearer sk-hnd-",
          "Basic c2staG5kLXg6",
          `Bearer ${s.agentKey}x`,
          `Bearer ${s.reviewerKey.slice(0, -1)}`,
          `Bearer ${s.agentKey.toUpperCase()}`,
          `Token ${s.reviewerKey}`,
          `Bearer ${s.reviewerKey} ${s.reviewerKey}`,
          `Bearer sk-hnd-${"a".repeat(4000)}`
        )
      )
      yield* fuzz(s, fc.tuple(fc.constantFrom(...endpoints), header), ([[method, path, body], authorization]) => ({
        how: `${method} ${path} with Authorization ${JSON.stringify(authorization)?.slice(0, 100)}`,
        acceptable: false,
        request: {
          method,
          path,
          headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        }
      }), 100)
    }), 120_000)
})

describe("requests that are not HTTP", () => {
  /**
   * Raw requests: random bytes, broken request lines and headers, broken framing. None carries a
   * key, so even one a lenient parser reads as HTTP is refused (401, 404), or, for a GET of a
   * dashboard page, sent to the sign-in page of this server (303).
   */
  const requests = (): fc.Arbitrary<Body> => {
    const head = (lines: ReadonlyArray<string>, content = "") =>
      Buffer.from(`${lines.join("\r\n")}\r\n\r\n${content}`, "latin1")
    const get = (how: string, ...headers: ReadonlyArray<string>) =>
      body(how, head(["GET /v1/trails HTTP/1.1", ...headers]))
    const post = (how: string, headers: ReadonlyArray<string>, content: string) =>
      body(how, head(["POST /v1/ingest HTTP/1.1", "Host: x", ...headers], content))
    return fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => body(`random bytes ${Buffer.from(b).toString("hex")}`, b)),
      fc.tuple(
        fc.oneof(fc.stringMatching(/^[A-Z]{1,8}$/), fc.constantFrom("GET ", "G ET", "\u0000", "get", "PRI")),
        fc.oneof(fc.constantFrom("/v1/trails", "/v1/ingest", "*", "", "//", "http://x/v1/ingest"), fc.string({ maxLength: 30 })),
        fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1 extra", "", "http/1.1")
      ).map(([method, target, version]) => {
        const line = `${method} ${target} ${version}`
        return body(`request line ${JSON.stringify(line)}`, head([line, "Host: x", "Connection: close"]))
      }),
      fc.constantFrom(
        get("a header without a colon", "Host: x", "NoColonHere"),
        get("a space before the colon", "Host : x"),
        get("a NUL in a header", "Host: x", "X-A: a\u0000b"),
        get("a bare LF in a header", "Host: x", "X-A: a\nb: c"),
        get("headers over 16 KiB", "Host: x", `X-Big: ${"a".repeat(20_000)}`),
        get("no Host in HTTP/1.1"),
        body("a request target that is not a path", head(["GET * HTTP/1.1", "Host: x"])),
        body("a request target that is not a path, after two spaces", head(["GET  * HTTP/1.1", "Host: x"])),
        body("a request target that is a host", head(["GET 127.0.0.1:80 HTTP/1.1", "Host: x"])),
        body("a request target of two slashes, after two spaces", head(["GET  // HTTP/1.1", "Host: x", "Connection: close"])),
        post("two Content-Lengths that differ", ["Content-Length: 5", "Content-Length: 6"], "{}"),
        post("a Content-Length that is not a number", ["Content-Length: abc"], "{}"),
        post("a negative Content-Length", ["Content-Length: -1"], "{}"),
        post("a chunk size that is not hex", ["Transfer-Encoding: chunked"], "zz\r\n{}\r\n0\r\n\r\n"),
        post("Content-Length with chunked", ["Content-Length: 2", "Transfer-Encoding: chunked"], "2\r\n{}\r\n0\r\n\r\n"),
        post("an unknown Transfer-Encoding", ["Transfer-Encoding: gzip, chunked, foo"], "{}"),
        body("a path over 16 KiB", head([`GET /v1/leashes/${"a".repeat(20_000)} HTTP/1.1`, "Host: x"])),
        body("a request cut in its headers", Buffer.from("POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Le", "latin1"))
      )
    )
  }

  it.scopedLive("a request that is not HTTP is answered with a 4xx error body (or nothing at all), nothing written, and the server lives on", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const writes = yield* writeWatch(s)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(requests(), async ({ bytes, how }) => {
            const answer = await run(rawExchange(s.url, bytes).pipe(
              Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`${how}: no answer and the connection stayed open`) }),
              Effect.orDie
            ))
            const where = `${how} → ${JSON.stringify(answer.raw.slice(0, 300))}`
            if (answer.raw !== "" && answer.status === 303) {
              // a request line a lenient parser reads as a GET of a dashboard page (`GET  //`,
              // `GET /`): without a session, the dashboard sends it to sign in, on this server
              expect(answer.raw, where).toMatch(/\r\nlocation: \/login\?next=%2F[^\r]*\r\n/i)
            } else if (answer.raw !== "") {
              expect(answer.status, where).toBeGreaterThanOrEqual(400)
              expect(answer.status, where).toBeLessThan(500)
              expect(isErrorBody(answer.body), where).toBe(true)
            }
            expect(await run(writes), `${how}: the database changed`).toStrictEqual([])
          }),
          { numRuns: 100 }
        )
      )
      expect((yield* s.anonymous.get("/healthz")).status).toBe(200)
    }), 120_000)
})

describe("fuzzed dashboard forms", () => {
  /** A form field's value: ordinary, hostile, huge, JSON (nested up to the limit) or not UTF-8 once decoded. */
  const fieldValue = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom("approved", "modified", "rejected", "", " ", "APPROVED", "approved ", "null", "{}", "[]", "\u0000"),
    fc.integer({ min: 4_090, max: 4_200 }).map((n) => "r".repeat(n)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.integer({ min: 1, max: Http.maxJsonDepth - 1 }).map((depth) => nested(depth, "array")),
    fc.constantFrom("%ZZ", "%C0%80", "\ud800", "<script>alert(1)</script>")
  )
  const fieldName = fc.oneof(
    fc.constantFrom("decision", "reason", "modified_payload", "csrf", "return", "key", "next"),
    fc.string({ maxLength: 10 })
  )
  type Form = { readonly how: string; readonly body: Uint8Array; readonly contentType: string }
  const forms = (csrf: string): fc.Arbitrary<Form> =>
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.tuple(
          fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 6 }),
          fc.constantFrom("right", "missing", "wrong", "twice")
        ).map(([fields, token]): Form => {
          const params = new URLSearchParams()
          if (token === "right" || token === "twice") params.append("csrf", csrf)
          if (token === "wrong") params.append("csrf", "A".repeat(43))
          for (const [k, v] of fields) params.append(k, v)
          if (token === "twice") params.append("csrf", "B".repeat(43))
          return {
            how: `form ${params.toString().slice(0, 300)}`,
            body: utf8Bytes(params.toString()),
            contentType: "application/x-www-form-urlencoded"
          }
        })
      },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ maxLength: 200 }).map((b): Form => ({
          how: `bytes ${Buffer.from(b).toString("hex")}`,
          body: b,
          contentType: "application/x-www-form-urlencoded"
        }))
      },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constantFrom("application/json", "multipart/form-data; boundary=x", "text/plain", "", "application/x-www-form-urlencoded; charset=latin1"),
          fc.string({ maxLength: 100 })
        ).map(([contentType, text]): Form => ({
          how: `${contentType}: ${JSON.stringify(text)}`,
          body: utf8Bytes(`csrf=${csrf}&decision=approved&${text}`),
          contentType
        }))
      }
    )

  it.scopedLive(
    "the decision form: never a 5xx, and the leash changes only with a 303 that recorded exactly the form's decision",
    () =>
      Effect.gen(function*() {
        const s = yield* start()
        const t = tab(s.url)
        const login = yield* t.get("/login")
        expect((yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey })).status).toBe(303)
        const csrf = csrfOf(yield* t.get("/"))
        const cookie = [...t.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
        const writes = yield* writeWatch(s)
        let leashId = ""
        const freshLeash = async () => {
          const leash = leashRequest({ timeout_seconds: 86_400 })
          expect((await run(s.agent.post("/v1/leashes", { body: leash }))).status).toBe(200)
          leashId = leash.leash_id
          await run(writes)
        }
        yield* Effect.promise(freshLeash)
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(forms(csrf), async (form) => {
              const answer = await run(rawHttp(s.url, {
                method: "POST",
                path: `/leashes/${leashId}/decision`,
                headers: { cookie, "content-type": form.contentType },
                body: form.body
              }))
              const written = await run(writes)
              expect(answer.status, `${form.how} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500)
              if (written.length === 0) {
                expect(answer.status, form.how).not.toBe(303)
                return
              }
              // a write: it was a decision the form asked for, and the dashboard said so
              expect(answer.status, `${form.how}: wrote ${written.join("; ")}`).toBe(303)
              const state = (await run(s.agent.get(`/v1/leashes/${leashId}`))).body
              const params = new URLSearchParams(Buffer.from(form.body).toString("utf8"))
              expect(state.decision.decision, form.how).toBe(params.get("decision"))
              const reason = (params.get("reason") ?? "").trim()
              if (reason !== "") expect(state.decision.reason, form.how).toBe(reason)
              if (state.decision.decision === "modified") {
                expect(state.decision.modified_payload, form.how).toStrictEqual(JSON.parse(params.get("modified_payload")!))
              }
              await freshLeash()
            }),
            { numRuns: 100 }
          )
        )
      }),
    120_000
  )

  it.scopedLive("the sign-in form: never a 5xx, nothing written, and no session without a reviewer key and its token", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const writes = yield* writeWatch(s)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(forms("C".repeat(43)), async (form) => {
            const answer = await run(rawHttp(s.url, {
              method: "POST",
              path: "/login",
              headers: { cookie: `houndsight_login=${"C".repeat(43)}`, "content-type": form.contentType },
              body: form.body
            }))
            expect(answer.status, `${form.how} → ${answer.status}`).toBeLessThan(500)
            expect(await run(writes), form.how).toStrictEqual([])
            // a session only for the reviewer key, which the fuzz never sends
            expect(answer.headers.get("set-cookie") ?? "", form.how).not.toContain("houndsight_session=")
          }),
          { numRuns: 100 }
        )
      )
    }), 120_000)
})
