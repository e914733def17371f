/**
 * Starting the server: the command line, the keys (generated once, stored, printed at every
 * start; or from the environment), and startup failures that name the problem (a bad rules file,
 * a port in use, a database that cannot be opened, a key with the wrong prefix), with exit codes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Cli, Server } from "../src/index.js"
import { StartupError } from "../src/ServerError.js"
import { client, startServer, tempDir } from "./helpers.js"
import { runServer } from "./process.js"

/** The startup error of `Server.layer(options)`. */
const startupError = (options: Server.Options) =>
  Effect.flip(Effect.scoped(Layer.build(Server.layer({ port: 0, ...options }))))

const write = (dir: string, name: string, text: string) => {
  const path = Path.join(dir, name)
  Fs.writeFileSync(path, text)
  return path
}

describe("the command line", () => {
  it.effect("defaults: port 7411, loopback, .houndsight/houndsight.db, no rules", () =>
    Effect.gen(function*() {
      const command = yield* Cli.parse([], {})
      expect(command).toStrictEqual({
        _tag: "Serve",
        options: {
          port: 7411,
          host: "127.0.0.1",
          db: ".houndsight/houndsight.db",
          rules: undefined,
          publicUrl: undefined,
          keys: {}
        }
      })
    }))

  it.effect("reads --port, --db, --rules, --host, --public-url (also as --flag=value) and the key variables", () =>
    Effect.gen(function*() {
      const command = yield* Cli.parse(
        ["--port=0", "--db", "/tmp/x.db", "--rules", "rules.json", "--host", "0.0.0.0", "--public-url", "https://gate.example.com"],
        { HOUNDSIGHT_AGENT_KEY: "sk-hnd-agent", HOUNDSIGHT_REVIEWER_KEY: "rv-hnd-reviewer" }
      )
      expect(command._tag).toBe("Serve")
      if (command._tag !== "Serve") return
      expect(command.options).toMatchObject({
        port: 0,
        db: "/tmp/x.db",
        rules: "rules.json",
        host: "0.0.0.0",
        publicUrl: "https://gate.example.com"
      })
      expect(Redacted.value(command.options.keys!.agentKey!)).toBe("sk-hnd-agent")
      expect(Redacted.value(command.options.keys!.reviewerKey!)).toBe("rv-hnd-reviewer")
      expect(yield* Cli.parse(["-h"], {})).toStrictEqual({ _tag: "Help" })
    }))

  it.effect("a bad command line is a Usage error that says what is wrong", () =>
    Effect.gen(function*() {
      for (
        const [argv, text] of [
          [["--port", "abc"], "--port must be a whole number from 0 to 65535"],
          [["--port", "70000"], "--port must be a whole number from 0 to 65535"],
          [["--verbose"], "--verbose"],
          [["serve"], "serve"],
          [["--db"], "--db"],
          [["--rules", " "], "--rules needs a value"],
          [["--public-url", "gate.example.com"], "--public-url must be an http(s) URL"]
        ] as const
      ) {
        const error = yield* Effect.flip(Cli.parse(argv, {}))
        expect(error.reason, argv.join(" ")).toBe("Usage")
        expect(error.message, argv.join(" ")).toContain(text)
        expect(error.message).toContain("--help")
      }
    }))

  it.effect("every setting is also an environment variable; a flag wins over its variable", () =>
    Effect.gen(function*() {
      const env = {
        HOUNDSIGHT_SERVER_PORT: "8123",
        HOUNDSIGHT_SERVER_DB: "/srv/gate.db",
        HOUNDSIGHT_SERVER_RULES: "/etc/houndsight/rules.json",
        HOUNDSIGHT_SERVER_HOST: "0.0.0.0",
        HOUNDSIGHT_SERVER_PUBLIC_URL: "https://gate.example.com"
      }
      const fromEnv = yield* Cli.parse([], env)
      expect(fromEnv._tag === "Serve" && fromEnv.options).toMatchObject({
        port: 8123,
        db: "/srv/gate.db",
        rules: "/etc/houndsight/rules.json",
        host: "0.0.0.0",
        publicUrl: "https://gate.example.com"
      })
      const flags = yield* Cli.parse(
        ["--port", "0", "--db", "a.db", "--rules", "r.json", "--host", "127.0.0.1", "--public-url", "http://x:1"],
        env
      )
      expect(flags._tag === "Serve" && flags.options).toMatchObject({
        port: 0,
        db: "a.db",
        rules: "r.json",
        host: "127.0.0.1",
        publicUrl: "http://x:1"
      })
      // an empty variable counts as unset
      const empty = yield* Cli.parse([], { HOUNDSIGHT_SERVER_PORT: "", HOUNDSIGHT_SERVER_DB: " " })
      expect(empty._tag === "Serve" && [empty.options.port, empty.options.db]).toStrictEqual([7411, ".houndsight/houndsight.db"])
      // keys commands take the database from the environment too
      const keys = yield* Cli.parse(["keys", "list"], env)
      expect(keys).toStrictEqual({ _tag: "Keys", command: { _tag: "List", db: "/srv/gate.db" } })
    }))

  it.effect("a bad value names the setting it came from, flag or variable", () =>
    Effect.gen(function*() {
      for (
        const [argv, env, text] of [
          [[], { HOUNDSIGHT_SERVER_PORT: "http" }, "HOUNDSIGHT_SERVER_PORT must be a whole number from 0 to 65535, got \"http\""],
          [["--port", "x"], { HOUNDSIGHT_SERVER_PORT: "1" }, "--port must be a whole number"],
          [[], { HOUNDSIGHT_SERVER_PUBLIC_URL: "gate" }, "HOUNDSIGHT_SERVER_PUBLIC_URL must be an http(s) URL"],
          [[], { HOUNDSIGHT_SERVER_DB: "mysql://db/x" }, "HOUNDSIGHT_SERVER_DB is a mysql:// URL"],
          [["--db", "postgres://db/x", "--db-pool", "0"], {}, "--db-pool must be a whole number from 1 to 1000, got 0"],
          [[], { HOUNDSIGHT_SERVER_DB_POOL: "ten" }, "HOUNDSIGHT_SERVER_DB_POOL must be a whole number from 1 to 1000"]
        ] as const
      ) {
        const error = yield* Effect.flip(Cli.parse(argv, env))
        expect(error.reason, text).toBe("Usage")
        expect(error.message).toContain(text)
      }
    }))

  it.effect("a database URL's password never appears in an error or the banner", () =>
    Effect.gen(function*() {
      const url = "postgres://gate:s3cr3t-pw@db.internal:5432/houndsight"
      // a postgres:// URL chooses PostgreSQL, with the pool size given
      const serve = yield* Cli.parse(["--db-pool", "25"], { HOUNDSIGHT_SERVER_DB: url })
      expect(serve._tag === "Serve" && [serve.options.db, serve.options.dbPool]).toStrictEqual([url, 25])
      const error = yield* Effect.flip(Cli.parse([], { HOUNDSIGHT_SERVER_DB: url.replace("postgres", "mysql") }))
      expect(error.message).toContain("mysql://gate:***@db.internal:5432/houndsight")
      expect(error.message).not.toContain("s3cr3t-pw")
      expect(Cli.redactUrl(url)).toBe("postgres://gate:***@db.internal:5432/houndsight")
      expect(Cli.redactUrl("/srv/gate.db")).toBe("/srv/gate.db")
      const text = Cli.banner({
        url: "http://127.0.0.1:7411",
        publicUrl: "http://127.0.0.1:7411",
        port: 7411,
        db: url,
        rulesPath: undefined,
        rules: { sensitive: [], rules: [] },
        keys: []
      })
      expect(text).toContain("postgres://gate:***@db.internal")
      expect(text).not.toContain("s3cr3t-pw")
    }))

  it.effect("--help lists every flag with its variable, and the keys commands", () =>
    Effect.gen(function*() {
      for (const { flag, env } of Object.values(Cli.settings)) {
        expect(Cli.usage).toMatch(new RegExp(`${flag} <[a-z]+>\\s+${env}\\s`))
      }
      for (const line of ["keys create --agent NAME", "keys create --reviewer NAME", "keys list", "keys revoke ID"]) {
        expect(Cli.usage).toContain(line)
      }
      expect(Cli.usage).toContain("HOUNDSIGHT_AGENT_KEY")
      expect(Cli.usage).toContain("HOUNDSIGHT_REVIEWER_KEY")
    }))

  it("the banner shows the address, dashboard, database, rules and keys", () => {
    const text = Cli.banner({
      url: "http://127.0.0.1:7411",
      publicUrl: "http://127.0.0.1:7411",
      port: 7411,
      db: ".houndsight/houndsight.db",
      rulesPath: "rules.json",
      rules: { sensitive: ["stripe.*"], rules: [{ action: "stripe.*", reason: "r", when: [] }] },
      keys: [
        { role: "agent", key: Redacted.make("sk-hnd-abc"), source: "generated", name: "any", id: "key_000000000001", development: true },
        {
          role: "reviewer",
          key: Redacted.make("rv-hnd-secret"),
          source: "HOUNDSIGHT_REVIEWER_KEY",
          name: "HOUNDSIGHT_REVIEWER_KEY",
          id: "env:HOUNDSIGHT_REVIEWER_KEY",
          development: false
        }
      ]
    })
    expect(text).toContain("listening on http://127.0.0.1:7411")
    expect(text).toContain("dashboard      http://127.0.0.1:7411")
    expect(text).toContain("database       .houndsight/houndsight.db")
    expect(text).toContain("rules.json: 1 floor rule, 1 sensitive pattern")
    expect(text).toContain("sk-hnd-abc  (new, key_000000000001; shown only now)")
    expect(text).toContain("from HOUNDSIGHT_REVIEWER_KEY")
    expect(text).not.toContain("rv-hnd-secret") // a key from the environment is not printed
  })
})

describe("keys", () => {
  it.scopedLive("the first start generates an agent and a reviewer key and stores them; later starts know them by id", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "keys.db")
      const first = yield* Effect.scoped(Effect.map(startServer({ db }), (s) => s.info.keys))
      expect(first.map((k) => [k.role, k.source])).toStrictEqual([["agent", "generated"], ["reviewer", "generated"]])
      expect(Redacted.value(first[0]!.key)).toMatch(/^sk-hnd-[A-Za-z0-9_-]{32}$/)
      expect(Redacted.value(first[1]!.key)).toMatch(/^rv-hnd-[A-Za-z0-9_-]{32}$/)
      const second = yield* startServer({ db })
      expect(second.info.keys).toStrictEqual([])
      expect(second.info.storedKeys!.map((k) => k.id)).toStrictEqual(first.map((k) => k.id))
      expect((yield* client(second.url, Redacted.value(first[1]!.key)).get("/v1/trails")).status).toBe(200)
    }))

  it.scopedLive("keys from the environment are accepted instead of generated ones, and are not stored", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "keys.db")
      const agentKey = "sk-hnd-from-the-environment"
      const reviewerKey = "rv-hnd-from-the-environment"
      yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* startServer({
          db,
          keys: { agentKey: Redacted.make(agentKey), reviewerKey: Redacted.make(reviewerKey) }
        })
        expect(s.info.keys.map((k) => k.source)).toStrictEqual(["HOUNDSIGHT_AGENT_KEY", "HOUNDSIGHT_REVIEWER_KEY"])
        expect((yield* client(s.url, agentKey).post("/v1/leashes/00000000-0000-4000-8000-000000000000/cancel")).status)
          .toBe(404)
        expect((yield* client(s.url, reviewerKey).get("/v1/trails")).status).toBe(200)
      }))
      const later = yield* startServer({ db })
      expect(later.info.keys.map((k) => k.source)).toStrictEqual(["generated", "generated"])
      expect((yield* client(later.url, reviewerKey).get("/v1/trails")).status).toBe(401)
    }))

  it.scopedLive("a key in the environment with the wrong prefix stops the server, naming the variable", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "keys.db")
      const error = yield* startupError({ db, keys: { agentKey: Redacted.make("rv-hnd-reviewer-as-agent") } })
      expect(error).toBeInstanceOf(StartupError)
      expect(error.reason).toBe("Keys")
      expect(error.message).toContain("HOUNDSIGHT_AGENT_KEY is not an agent key: it must start with sk-hnd-")
      expect(error.message).not.toContain("reviewer-as-agent")
    }))
})

describe("startup failures name the problem", () => {
  it.scopedLive("a rules file that is missing, not JSON, or off the schema", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const db = Path.join(dir, "gate.db")
      const missing = yield* startupError({ db, rules: Path.join(dir, "nope.json") })
      expect(missing.reason).toBe("Rules")
      expect(missing.message).toContain(`rules file ${Path.join(dir, "nope.json")} does not exist`)

      const notJson = yield* startupError({ db, rules: write(dir, "bad.json", "{ sensitive: [] }") })
      expect(notJson.message).toContain("is not JSON")

      const badOp = yield* startupError({
        db,
        rules: write(dir, "op.json", JSON.stringify({ rules: [{ action: "stripe.*", reason: "r", when: [{ signal: "amount_usd", op: "=>", value: 1 }] }] }))
      })
      expect(badOp.message).toContain("rules[0].when[0].op: expected one of >, >=, <, <=, ==, !=, contains, in")

      const typo = yield* startupError({ db, rules: write(dir, "typo.json", JSON.stringify({ sensitiv: ["x"] })) })
      expect(typo.message).toContain("sensitiv")
    }))

  it.scopedLive("a rules file that is valid is loaded and used", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rules = write(dir, "rules.json", JSON.stringify({ sensitive: ["email.send"], rules: [{ action: "email.send", reason: "no mail", when: [] }] }))
      const s = yield* startServer({ rules })
      expect(s.info.rulesPath).toBe(rules)
      expect(s.info.rules.rules).toHaveLength(1)
    }))

  it.scopedLive("a port in use", () =>
    Effect.gen(function*() {
      const running = yield* startServer()
      const error = yield* startupError({ port: running.info.port, db: Path.join(yield* tempDir, "other.db") })
      expect(error.reason).toBe("Port")
      expect(error.message).toContain(`port ${running.info.port} on 127.0.0.1 is already in use`)
      expect(error.message).toContain("--port")
    }))

  it.scopedLive("a database that cannot be created or opened", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = write(dir, "a-file", "not a folder")
      const underFile = yield* startupError({ db: Path.join(file, "gate.db") })
      expect(underFile.reason).toBe("Database")
      expect(underFile.message).toContain(`cannot create the folder of the database at ${Path.join(file, "gate.db")}`)
      expect(underFile.message).toContain("--db")

      const aFolder = yield* startupError({ db: dir })
      expect(aFolder.reason).toBe("Database")
      expect(aFolder.message).toContain(`cannot open the database at ${dir}`)

      const notSqlite = yield* startupError({ db: write(dir, "text.db", "this is not a database, ".repeat(100)) })
      expect(notSqlite.reason).toBe("Database")
      expect(notSqlite.message).toContain("not a database")
    }))
})

describe("the houndsight-server command", () => {
  it.scopedLive("exits 2 on a bad command line and 1 when it cannot start, printing the reason", () =>
    Effect.gen(function*() {
      const cwd = yield* tempDir
      const blocker = yield* startServer()
      const [usage, rules, port, help] = yield* Effect.all([
        runServer(["--port", "abc"], { cwd }),
        runServer(["--port", "0", "--rules", "missing.json"], { cwd }),
        runServer(["--port", String(blocker.info.port), "--db", Path.join(yield* tempDir, "gate.db")], { cwd }),
        runServer(["--help"], { cwd })
      ], { concurrency: "unbounded" })
      expect(usage.code).toBe(2)
      expect(usage.stderr).toContain("houndsight-server: --port must be a whole number")
      expect(rules.code).toBe(1)
      expect(rules.stderr).toContain("houndsight-server: rules file missing.json does not exist")
      expect(port.code).toBe(1)
      expect(port.stderr).toContain("is already in use")
      expect(help.code).toBe(0)
      expect(help.stdout).toContain("Usage: houndsight-server")
      // nothing was left behind by the runs that failed on their flags or rules
      expect(Fs.existsSync(Path.join(cwd, ".houndsight"))).toBe(false)
    }), 120_000)
})

