/**
 * "These leash ids / trail ids changed", told by one server instance to the others on the same
 * database, so a long-poll held on one instance wakes when another writes the decision, and a
 * dashboard open on one sees what another changed.
 *
 * The instance that makes a change wakes its own long-polls and live pages directly (the fast
 * path, unchanged); the notifier only carries the change to the *other* instances, which read
 * what changed from the database (a notification carries ids, never state).
 *
 * - **PostgreSQL**: `pg_notify('houndsight_changes', ids)` (sent as soon as the write is
 *   committed), received by every instance `LISTEN`ing on one connection of its
 *   own (PgClient's `listen`). No polling interval sits in the path. PgClient does not tell when
 *   the listening connection drops, so each instance sends itself a ping over the channel every
 *   `heartbeatMillis`: when a ping has not come back by the next one, the connection is taken for
 *   dead, listening starts again on a new one, and once it is up every subscriber is told
 *   `Missed` (notifications may have been lost meanwhile: re-read what you wait on).
 * - **One process** (SQLite): an in-memory hub. A server alone on its database has no peers, so
 *   nothing is delivered; servers embedded in one process may share a hub (`Server.Options`).
 *
 * @since 0.1.0
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"

/**
 * What changed: leashes (created, decided, cancelled, expired) or trails (records arrived).
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "leashes" | "trails"

/**
 * What a subscriber is told: ids of one kind changed on another instance, or notifications may
 * have been missed (the listening connection dropped and is back): re-read everything waited on.
 *
 * @since 0.1.0
 * @category models
 */
export type Event =
  | { readonly _tag: "Changed"; readonly kind: Kind; readonly ids: ReadonlyArray<string> }
  | { readonly _tag: "Missed" }

/**
 * The notifier of one server instance.
 *
 * @since 0.1.0
 * @category tags
 */
export class Notifier extends Context.Tag("houndsight-server/Notifier")<Notifier, {
  /**
   * Tells the other instances that these ids changed (after the change is committed). Never
   * fails and never waits on the network: a notification that cannot be sent is logged (the
   * others then see the change at their next read).
   */
  readonly announce: (kind: Kind, ids: ReadonlyArray<string>) => Effect.Effect<void>
  /** Calls `onEvent` for every change made by another instance; answers the unsubscribe. */
  readonly unsafeSubscribe: (onEvent: (event: Event) => void) => () => void
}>() {}

/**
 * The PostgreSQL channel of the notifications.
 *
 * @since 0.1.0
 * @category constants
 */
export const channel = "houndsight_changes"

/** PostgreSQL refuses a payload of 8000 bytes or more; ids are ASCII, so characters are bytes. */
const maxPayloadChars = 7_000

const kindCode: Record<Kind, string> = { leashes: "l", trails: "t" }

/** The subscribers of one instance. */
const makeSubscribers = () => {
  const subscribers = new Set<(event: Event) => void>()
  return {
    subscribe: (onEvent: (event: Event) => void) => {
      subscribers.add(onEvent)
      return () => {
        subscribers.delete(onEvent)
      }
    },
    deliver: (event: Event) => {
      for (const onEvent of subscribers) {
        try {
          onEvent(event)
        } catch {
          // a subscriber's own failure is its own; the others still hear of the change
        }
      }
    }
  }
}

/**
 * An in-memory hub: the notifiers made on it hear one another (never themselves).
 *
 * @since 0.1.0
 * @category models
 */
export interface Hub {
  readonly members: Set<(event: Event) => void>
}

/**
 * A new, empty hub.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHub = (): Hub => ({ members: new Set() })

/**
 * A notifier on an in-memory hub (one process), leaving it when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (hub: Hub): Effect.Effect<Context.Tag.Service<Notifier>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { deliver, subscribe } = makeSubscribers()
    yield* Effect.acquireRelease(Effect.sync(() => hub.members.add(deliver)), () => Effect.sync(() => hub.members.delete(deliver)))
    return Notifier.of({
      announce: (kind, ids) =>
        Effect.sync(() => {
          if (ids.length === 0) return
          const event: Event = { _tag: "Changed", kind, ids }
          for (const member of hub.members) if (member !== deliver) member(event)
        }),
      unsafeSubscribe: subscribe
    })
  })

/**
 * How the PostgreSQL notifier watches its listening connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgOptions {
  /** How often an instance pings itself over the channel (default 1 s); a drop is seen within two. */
  readonly heartbeatMillis?: number | undefined
}

/**
 * The payloads of one announcement: `<instance> <kind> <id>,<id>…`, split under PostgreSQL's
 * payload limit.
 *
 * @since 0.1.0
 * @category encoding
 */
export const payloads = (instance: string, kind: Kind, ids: ReadonlyArray<string>): ReadonlyArray<string> => {
  const head = `${instance} ${kindCode[kind]} `
  const out: Array<string> = []
  let current = ""
  for (const id of ids) {
    if (current !== "" && head.length + current.length + 1 + id.length > maxPayloadChars) {
      out.push(head + current)
      current = ""
    }
    current = current === "" ? id : `${current},${id}`
  }
  if (current !== "") out.push(head + current)
  return out
}

/** A payload read back: from whom, and what. */
const parse = (payload: string):
  | { readonly from: string; readonly ping: string }
  | { readonly from: string; readonly kind: Kind; readonly ids: ReadonlyArray<string> }
  | undefined =>
{
  const [from, code, rest] = payload.split(" ", 3)
  if (from === undefined || rest === undefined) return undefined
  if (code === "p") return { from, ping: rest }
  const kind: Kind | undefined = code === "l" ? "leashes" : code === "t" ? "trails" : undefined
  if (kind === undefined) return undefined
  return { from, kind, ids: rest.split(",").filter((id) => id !== "") }
}

/**
 * A notifier on PostgreSQL `LISTEN`/`NOTIFY` (see the module's description). It listens, and
 * watches its listening connection, in fibers of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePg = (
  pg: PgClient.PgClient,
  options: PgOptions = {}
): Effect.Effect<Context.Tag.Service<Notifier>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const heartbeat = Duration.millis(options.heartbeatMillis ?? 1_000)
    const instance = Crypto.randomBytes(6).toString("hex")
    const { deliver, subscribe } = makeSubscribers()
    const scope = yield* Effect.scope

    // `pg_notify` rather than PgClient's `notify`: in @effect/sql-pg 0.53 that sends
    // `NOTIFY channel, $1`, which PostgreSQL refuses (NOTIFY takes no parameters)
    const send = (payload: string) => Effect.asVoid(pg`SELECT pg_notify(${channel}, ${payload})`)

    /** One listening session: ends (fails) when a ping does not come back in time. */
    const session = (first: boolean) =>
      Effect.scoped(Effect.gen(function*() {
        let sent = 0
        let back = 0
        const listening = yield* Effect.makeLatch(false)
        yield* pg.listen(channel).pipe(
          Stream.runForEach((payload) =>
            Effect.sync(() => {
              const message = parse(payload)
              if (message === undefined) return
              if (message.from === instance) {
                if ("ping" in message) {
                  back = Math.max(back, Number(message.ping))
                  listening.unsafeOpen()
                }
                return
              }
              if ("kind" in message) deliver({ _tag: "Changed", kind: message.kind, ids: message.ids })
            })
          ),
          Effect.forkScoped
        )
        // Listening once our own first ping comes back (LISTEN runs as the stream starts).
        yield* Effect.retry(
          Effect.zipRight(
            Effect.suspend(() => send(`${instance} p ${++sent}`)),
            Effect.flatMap(Effect.timeout(listening.await, heartbeat), () => Effect.void)
          ),
          Schedule.recurs(4)
        )
        if (!first) deliver({ _tag: "Missed" })
        yield* Effect.forever(Effect.gen(function*() {
          yield* Effect.sleep(heartbeat)
          if (back < sent) return yield* Effect.fail(new Error(`the listening connection answered no ping in ${Duration.format(heartbeat)}`))
          yield* send(`${instance} p ${++sent}`)
        }))
      }))

    const listenLoop = Effect.gen(function*() {
      let first = true
      for (;;) {
        const exit = yield* Effect.exit(session(first))
        first = false
        yield* Effect.logWarning("notifier: the PostgreSQL listening connection dropped; listening again (waiters re-read)", exit)
        yield* Effect.sleep(Duration.millis(250))
      }
    })
    yield* Effect.forkIn(Effect.interruptible(listenLoop), scope)

    return Notifier.of({
      announce: (kind, ids) =>
        ids.length === 0 ? Effect.void : Effect.asVoid(Effect.forkIn(
          Effect.forEach(payloads(instance, kind, ids), send, { discard: true }).pipe(
            Effect.catchAllCause((cause) =>
              Effect.logWarning(`notifier: could not tell the other instances that ${kind} changed; they see it at their next read`, cause)
            )
          ),
          scope
        )),
      unsafeSubscribe: subscribe
    })
  })

/**
 * The notifier of a server: on PostgreSQL when the database is (`pg` given), else on `hub` (a
 * new, private one by default: a server alone in its process has no peers).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: { readonly pg?: PgClient.PgClient | undefined; readonly hub?: Hub | undefined } & PgOptions = {}
): Layer.Layer<Notifier> =>
  Layer.scoped(Notifier, options.pg !== undefined ? makePg(options.pg, options) : makeMemory(options.hub ?? makeHub()))
