/**
 * The dashboard's live view: what changed, told to every open page over server-sent events.
 *
 * Changes are published by whoever makes them: the dashboard's own decisions, and the API's
 * writes, which the dashboard sees as they pass through it (a created, decided or cancelled
 * leash; an ingested batch). Each open page's `/events` stream answers a change, and a periodic
 * check (which also catches leashes that expired on their own), with what changed for that page
 * only: the cards of leashes that joined its list (rendered on the server, escaped like every
 * page), the ids of those that left it, the decisions table when a decision was made, the counts
 * when they moved; nothing when nothing changed. Each stream remembers which leashes its page
 * shows (`PendingView`), starting from the ids the page names when it connects, and compares
 * that with the ids now pending, read from an index (never the payloads): a check costs the
 * page's ids, and the cards sent are only the new ones.
 *
 * Changes made by another server instance on the same database arrive through the `Notifier`
 * and are told to this instance's pages like its own; when the notifier may have missed some
 * (its listening connection dropped), every page is checked again.
 *
 * Streams end when the server stops, so shutdown never waits on an open page.
 *
 * @since 0.1.0
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Notifier } from "../Notifier.js"

/**
 * What changed: the leashes (pending or decided), or the trails (records arrived).
 *
 * @since 0.1.0
 * @category models
 */
export type Topic = "leashes" | "trails"

/**
 * The change feed of one server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Live {
  /** Tells every open page that `topic` changed. */
  readonly publish: (topic: Topic) => Effect.Effect<void>
  /**
   * `leashes` at once, then the changes from then on (subscribed before the first element, so
   * nothing between the first snapshot and the next is missed), in batches of distinct topics
   * gathered over a few milliseconds, and `leashes` again every `refreshMillis`. Ends when the
   * server stops.
   */
  readonly changes: (refreshMillis: number) => Stream.Stream<ReadonlyArray<Topic>>
}

/** Changes that arrive this close together are answered with one snapshot. */
const gatherMillis = 25

/**
 * A change feed that ends its streams when the scope closes, fed also by the other instances'
 * changes (`Notifier`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Live, never, Scope.Scope | Notifier> = Effect.gen(function*() {
  const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<Topic>(), PubSub.shutdown)
  const closing = yield* Deferred.make<void>()
  yield* Effect.addFinalizer(() => Deferred.succeed(closing, undefined))
  const notifier = yield* Notifier
  // an unbounded PubSub takes a message at once: publishing from the notifier's callback is synchronous
  const publishNow = Runtime.runSync(yield* Effect.runtime<never>())
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      notifier.unsafeSubscribe((event) => {
        publishNow(PubSub.publishAll(pubsub, event._tag === "Changed" ? [event.kind] : ["leashes", "trails"] as const))
      })
    ),
    (unsubscribe) => Effect.sync(unsubscribe)
  )
  return {
    publish: (topic) => Effect.asVoid(PubSub.publish(pubsub, topic)),
    changes: (refreshMillis) =>
      Stream.unwrapScoped(Effect.map(PubSub.subscribe(pubsub), (subscription) =>
        Stream.fromQueue(subscription).pipe(
          Stream.merge(Stream.tick(`${refreshMillis} millis`).pipe(Stream.drop(1), Stream.as<Topic>("leashes"))),
          Stream.groupedWithin(64, `${gatherMillis} millis`),
          Stream.map((topics): ReadonlyArray<Topic> => [...new Set(Chunk.toReadonlyArray(topics))]),
          Stream.prepend(Chunk.of<ReadonlyArray<Topic>>(["leashes"]))
        ))).pipe(Stream.interruptWhen(Deferred.await(closing)))
  }
})

/**
 * What one open page shows of the pending leashes, by id (the stream's memory between checks).
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingView {
  shown: ReadonlySet<string>
}

/**
 * What changed for a page between two checks.
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingChange {
  /** Ids the page should show and does not, in list order. */
  readonly added: ReadonlyArray<string>
  /** Ids the page shows that are no longer pending (or fell off a full list). */
  readonly removed: ReadonlyArray<string>
  /** What the page shows after the change. */
  readonly shown: ReadonlySet<string>
}

/**
 * Compares what a page shows (`shown`) with the first page of pending ids now (`firstPage`, in
 * list order; empty for a page without a list) and which of `shown` are still pending (`kept`).
 * A page keeps a card that is still pending even when newer ones push it off the first page,
 * until it holds more than `max`; then it is brought back to the first page.
 *
 * @since 0.1.0
 * @category utils
 */
export const diffPending = (
  shown: ReadonlySet<string>,
  firstPage: ReadonlyArray<string>,
  kept: ReadonlyArray<string>,
  max: number
): PendingChange => {
  let next = new Set<string>([...firstPage, ...kept])
  if (next.size > max) next = new Set(firstPage)
  const added = firstPage.filter((id) => !shown.has(id))
  const removed = [...shown].filter((id) => !next.has(id))
  return { added, removed, shown: next }
}

const leashWrite = /^\/v1\/leashes(?:\/[^/]+\/(?:decision|cancel))?\/?$/

/**
 * Which topic an API answer changed, if any: a successful `POST /v1/leashes`, a decision or a
 * cancel change the leashes; a successful ingest changes the trails.
 *
 * @since 0.1.0
 * @category utils
 */
export const topicOf = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Topic | undefined => {
  if (request.method !== "POST" || response.status < 200 || response.status >= 300) return undefined
  const q = request.url.indexOf("?")
  const path = q === -1 ? request.url : request.url.slice(0, q)
  if (leashWrite.test(path)) return "leashes"
  if (path === "/v1/ingest" || path === "/v1/ingest/") return "trails"
  return undefined
}

const encoder = new TextEncoder()

/**
 * One server-sent event: `event: name` and the data as one JSON line.
 *
 * @since 0.1.0
 * @category encoding
 */
export const event = (name: string, data: unknown): Uint8Array =>
  encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)

/**
 * The first bytes of a stream: how long the browser waits before reconnecting.
 *
 * @since 0.1.0
 * @category encoding
 */
export const preamble = (retryMillis: number): Uint8Array => encoder.encode(`retry: ${retryMillis}\n\n`)
