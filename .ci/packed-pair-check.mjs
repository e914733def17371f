// Run by .ci/packed-pair.sh inside the folder where the two tarballs were installed: everything
// here comes from that folder's node_modules (the packed SDK and server), nothing from the
// repository. Starts `npx houndsight-server --db ./gate.db` (port from HOUNDSIGHT_SERVER_PORT=0,
// a free one), then checks /healthz, a leash round trip through the installed SDK and the
// dashboard, and stops the server.
import { spawn } from "node:child_process"
import { Effect, Layer, Redacted } from "effect"
import { Houndsight, Leash, Trail } from "houndsight"

const fail = (message) => {
  console.error(`packed pair: ${message}`)
  process.exitCode = 1
}

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HOUNDSIGHT_")))
const started = Date.now()
const child = spawn("npx", ["--offline", "houndsight-server", "--db", "./gate.db", "--port", "0"], {
  env,
  stdio: ["ignore", "pipe", "pipe"],
  // its own process group: npx runs the server as a child of its own, and both are stopped together
  detached: true
})
const stopAll = (signal) => {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}
// the whole check is bounded: a hang anywhere is a failure that says where it was
const deadline = setTimeout(() => {
  fail(`the check did not finish within 180 s; the server printed:\n${output}`)
  stopAll("SIGKILL")
  process.exit(1)
}, 180_000)
deadline.unref()
let output = ""
child.stdout.setEncoding("utf8").on("data", (c) => (output += c))
child.stderr.setEncoding("utf8").on("data", (c) => (output += c))
const exited = new Promise((done) => child.once("exit", (code, signal) => done(code ?? signal)))

const banner = await new Promise((done, reject) => {
  const timer = setTimeout(() => reject(new Error(`not ready within 60 s:\n${output}`)), 60_000)
  const check = () => {
    const m = /listening on (http:\/\/\S+)[\s\S]*agent key\s+(sk-hnd-\S+)[\s\S]*reviewer key\s+(rv-hnd-\S+)/.exec(output)
    if (m !== null) {
      clearTimeout(timer)
      done({ url: m[1], agentKey: m[2], reviewerKey: m[3] })
    }
  }
  child.stdout.on("data", check)
  void exited.then((code) => {
    clearTimeout(timer)
    reject(new Error(`houndsight-server exited (${code}) before it was ready:\n${output}`))
  })
})
console.log(`packed pair: npx houndsight-server is listening on ${banner.url} (${Date.now() - started} ms after spawn)`)

try {
  const health = await fetch(`${banner.url}/healthz`)
  if (health.status !== 200) throw new Error(`GET /healthz answered ${health.status}`)
  console.log("packed pair: GET /healthz 200")

  // The reviewer: waits for the pending leash and approves it over HTTP.
  const reviewer = { authorization: `Bearer ${banner.reviewerKey}` }
  const approve = async () => {
    for (let i = 0; i < 200; i++) {
      const list = await (await fetch(`${banner.url}/v1/leashes?status=pending`, { headers: reviewer })).json()
      const leash = list.leashes?.[0]
      if (leash !== undefined) {
        const answer = await fetch(`${banner.url}/v1/leashes/${leash.leash_id}/decision`, {
          method: "POST",
          headers: { ...reviewer, "content-type": "application/json" },
          body: JSON.stringify({ decision: "approved", reason: "packed pair check" })
        })
        if (answer.status !== 200) throw new Error(`the decision answered ${answer.status}: ${await answer.text()}`)
        return
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error("no pending leash appeared within 10 s")
  }
  const agent = Effect.gen(function*() {
    return yield* Leash.request({
      actionName: "stripe.charge",
      actionSummary: "Charge cus_42 $120.00",
      riskSignals: { amountUsd: 120 },
      payload: { customer: "cus_42", amountUsd: 120 },
      timeoutSeconds: 20
    })
  }).pipe(
    Trail.run({ trigger: "packed_pair", payload: {} }),
    Effect.provide(Houndsight.layer({ endpoint: banner.url, apiKey: Redacted.make(banner.agentKey), agent: "packed-pair" })),
    Effect.scoped
  )
  const [decision] = await Promise.all([Effect.runPromise(agent), approve()])
  if (decision.decision !== "approved") throw new Error(`the leash ended ${decision.decision}: ${decision.reason}`)
  console.log(`packed pair: leash round trip: ${decision.decision} ("${decision.reason}"), ${decision.traceLink}`)

  // The dashboard: the sign-in page and its assets, a sign-in, and the queue page.
  const login = await fetch(`${banner.url}/login`)
  const loginHtml = await login.text()
  const csrf = /name="csrf" value="([^"]+)"/.exec(loginHtml)?.[1]
  const loginCookie = (login.headers.get("set-cookie") ?? "").split(";")[0]
  if (login.status !== 200 || csrf === undefined) throw new Error(`GET /login answered ${login.status} without a sign-in form`)
  const css = /href="(\/assets\/dashboard\.css[^"]*)"/.exec(loginHtml)?.[1]
  if (css === undefined || (await fetch(`${banner.url}${css.replaceAll("&amp;", "&")}`)).status !== 200) {
    throw new Error("the dashboard's stylesheet is not served (assets missing from the package?)")
  }
  const signIn = await fetch(`${banner.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: loginCookie },
    body: new URLSearchParams({ csrf, key: banner.reviewerKey, next: "/" })
  })
  const session = (signIn.headers.getSetCookie?.() ?? [signIn.headers.get("set-cookie") ?? ""])
    .map((c) => c.split(";")[0]).find((c) => c.startsWith("houndsight_session="))
  if (signIn.status !== 303 && signIn.status !== 302 || session === undefined) {
    throw new Error(`signing in answered ${signIn.status} without a session`)
  }
  const queue = await fetch(`${banner.url}/`, { headers: { cookie: session } })
  const queueHtml = await queue.text()
  if (queue.status !== 200 || !queueHtml.includes("stripe.charge")) {
    throw new Error(`the dashboard's queue page answered ${queue.status} without the decided leash`)
  }
  console.log("packed pair: dashboard: sign-in page, stylesheet, sign-in and the queue page load")
} catch (e) {
  fail(e instanceof Error ? e.message : String(e))
  console.error(output)
} finally {
  stopAll("SIGTERM")
  const code = await exited
  if (code !== 0 && code !== "SIGTERM" && process.exitCode !== 1) fail(`the server exited ${code} after SIGTERM:\n${output}`)
  const stillUp = await fetch(`${banner.url}/healthz`).then(() => true, () => false)
  if (stillUp) {
    fail("the server still answers after SIGTERM")
    stopAll("SIGKILL")
  }
}
if (process.exitCode !== 1) console.log("packed pair: ok")
