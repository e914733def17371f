/**
 * A bounded FIFO of records waiting to be exported: one of the exporter's two lanes.
 *
 * Offering pushes the record as it is (`push`: a few stores, no allocation once the ring has
 * grown). The exporter then compacts waiting records in place (`compact`), a few dozen at a time:
 * a step becomes its parts (`StepParts`: the id and the JSON after `ended_at` in one flat string,
 * references to its trail id, parent id and name, and three numbers), a trail its JSON, and a
 * record that does not encode becomes a tombstone, counted once and skipped when its batch is
 * assembled. A compacted step is much smaller than the object graph it came from (and than its
 * wire JSON, whose keys and trail id it does not hold), which is why records are compacted soon
 * after they arrive rather than when their batch is built. Compacting measures the record's JSON
 * exactly as it will be sent; one over the server's limit of 262,144 bytes is cut to fit there
 * (`recordLimit.ts`), so a record within it pays one comparison.
 *
 * The slots are columns (one array per field) that grow by doubling up to the bound, so an idle
 * lane holds 64 slots, and a slot is a few numbers and references in those columns besides its
 * string: no object per record.
 *
 * @internal
 */
import {
  flatten,
  type Kind,
  readStep,
  renderStep,
  SchemaRejection,
  schemaJson,
  STEP,
  StepParts,
  trailJson
} from "./encode.js"
import { utf8Length } from "../schema/Common.js"
import { maxRecordBytes } from "./jsonSafe.js"
import { fitRecord } from "./recordLimit.js"

/** What a slot holds. */
const RAW = 0
const PARTS = 1
const JSON_TEXT = 2
const DEAD = 3

const initialSlots = 64

/** Called for a record that does not encode: its kind and the schema's message. */
export type OnInvalid = (kind: Kind, message: string) => void

export class Lane {
  /** Slots allocated (grows by doubling up to `capacity`). */
  private n: number
  /** RAW: the record; PARTS: id + rest; JSON_TEXT: the JSON; DEAD: undefined. */
  private items: Array<unknown>
  private trailIds: Array<string | undefined>
  private parentIds: Array<string | null | undefined>
  private names: Array<string | undefined>
  /** seq, startedAt, endedAt of each slot. */
  private numbers: Float64Array
  private sizes: Float64Array
  /** What the slot holds (low two bits) and its kind (bit 2). */
  private forms: Uint8Array
  /** layer, status, nameQuoted of a step in parts. */
  private meta: Uint8Array

  private head = 0
  /** Slots in use, tombstones included. */
  size = 0
  /** Slots not yet compacted: always the newest `raw` slots. */
  raw = 0
  /** Tombstones: records that did not encode, already counted as dropped. */
  dead = 0
  /**
   * Records taken out into the exporter's prepared batch: they still count against the bound
   * until that batch is sent.
   */
  reserved = 0
  /** Records ever accepted. */
  pushed = 0
  /** Slots ever taken out (by `shift` or `clear`). */
  taken = 0

  constructor(readonly capacity: number) {
    this.n = Math.min(capacity, initialSlots)
    this.items = new Array(this.n)
    this.trailIds = new Array(this.n)
    this.parentIds = new Array(this.n)
    this.names = new Array(this.n)
    this.numbers = new Float64Array(this.n * 3)
    this.sizes = new Float64Array(this.n)
    this.forms = new Uint8Array(this.n)
    this.meta = new Uint8Array(this.n)
  }

  /** Records waiting, tombstones excluded. */
  get live(): number {
    return this.size - this.dead
  }

  /** Takes a record as it is; `false` when the lane is full. Never throws. */
  push(record: unknown, kind: Kind): boolean {
    if (this.size + this.reserved >= this.capacity) return false
    if (this.size === this.n) this.grow()
    const i = this.index(this.size)
    this.items[i] = record
    this.forms[i] = RAW | (kind << 2)
    this.size++
    this.raw++
    this.pushed++
    return true
  }

  /**
   * Compacts up to `budget` of the oldest raw records; returns how many raw records remain.
   * A record that does not encode becomes a tombstone and is reported to `onInvalid`.
   */
  compact(budget: number, parts: StepParts, onInvalid: OnInvalid): number {
    let done = 0
    while (this.raw > 0 && done < budget) {
      const i = this.index(this.size - this.raw)
      const kind = ((this.forms[i]! >> 2) & 1) as Kind
      const record = this.items[i]
      let stored = this.encodeInto(i, kind, record, parts)
      // the one check a record within the server's limit pays (see recordLimit.ts)
      if (typeof stored === "number" && stored > maxRecordBytes) stored = this.fit(i, kind, record, stored, parts)
      if (stored instanceof SchemaRejection) {
        this.items[i] = undefined
        this.forms[i] = DEAD | (kind << 2)
        this.dead++
        onInvalid(kind, stored.message)
      }
      this.raw--
      done++
    }
    return this.raw
  }

  /** Encodes `record` into slot `i`: its UTF-8 bytes, or why it does not encode (the slot is then untouched). */
  private encodeInto(i: number, kind: Kind, record: unknown, parts: StepParts): number | SchemaRejection {
    try {
      if (kind === STEP) {
        if (readStep(record, parts)) {
          this.store(i, parts)
          return parts.bytes
        }
      } else {
        const json = trailJson(record)
        if (json !== undefined) return this.storeJson(i, kind, json)
      }
    } catch {
      // JSON.stringify threw: the schema path gives the message
    }
    const json = schemaJson(record, kind)
    return json instanceof SchemaRejection ? json : this.storeJson(i, kind, json)
  }

  /**
   * Stores in slot `i` (holding `record`, `bytes` bytes, over the limit) the record cut to fit
   * by `fitRecord`; keeps the record as it was when cutting fails. Returns the bytes stored.
   */
  private fit(i: number, kind: Kind, record: unknown, bytes: number, parts: StepParts): number {
    // each candidate is measured by storing it: the last one measured is usually the one kept
    let last: unknown = record
    let lastBytes = bytes
    const measure = (candidate: unknown): number => {
      const stored = this.encodeInto(i, kind, candidate, parts)
      last = candidate
      lastBytes = typeof stored === "number" ? stored : -1
      return lastBytes
    }
    let cut: unknown = record
    try {
      cut = fitRecord(record, kind === STEP, bytes, measure)
    } catch {
      // JSON.stringify threw on a part: keep the record as it was
    }
    if (cut === last && lastBytes >= 0) return lastBytes
    const stored = this.encodeInto(i, kind, cut, parts)
    if (typeof stored === "number") return stored
    // the record itself encoded before: store it again
    const again = this.encodeInto(i, kind, record, parts)
    return typeof again === "number" ? again : bytes
  }

  /** Drops tombstones at the head; whether a compacted record is there to take. */
  ready(): boolean {
    while (this.size > this.raw) {
      if ((this.forms[this.head]! & 3) !== DEAD) return true
      this.shift()
    }
    return false
  }

  /** UTF-8 bytes of the head record's JSON; only after `ready()`. */
  headBytes(): number {
    return this.sizes[this.head]!
  }

  /** The kind of the head record; only after `ready()`. */
  headKind(): Kind {
    return ((this.forms[this.head]! >> 2) & 1) as Kind
  }

  /** The JSON of the head record; only after `ready()`. */
  headJson(parts: StepParts): string {
    const i = this.head
    if ((this.forms[i]! & 3) === JSON_TEXT) return this.items[i] as string
    const m = this.meta[i]!
    parts.body = this.items[i] as string
    parts.trailId = this.trailIds[i]!
    parts.parentId = this.parentIds[i]!
    parts.name = this.names[i]!
    parts.layer = m & 7
    parts.status = (m >> 3) & 3
    parts.nameQuoted = (m & 32) !== 0
    parts.seq = this.numbers[i * 3]!
    parts.startedAt = this.numbers[i * 3 + 1]!
    parts.endedAt = this.numbers[i * 3 + 2]!
    return renderStep(parts)
  }

  /** Removes the head slot. */
  shift(): void {
    const i = this.head
    if ((this.forms[i]! & 3) === DEAD) this.dead--
    else if ((this.forms[i]! & 3) === RAW) this.raw--
    this.items[i] = undefined
    this.trailIds[i] = undefined
    this.parentIds[i] = undefined
    this.names[i] = undefined
    this.head = this.head + 1 === this.n ? 0 : this.head + 1
    this.size--
    this.taken++
  }

  /** Empties the lane; returns how many live records it held. */
  clear(): number {
    const live = this.live
    while (this.size > 0) this.shift()
    return live
  }

  private index(offset: number): number {
    const i = this.head + offset
    return i < this.n ? i : i - this.n
  }

  private store(i: number, parts: StepParts): void {
    this.items[i] = parts.body
    this.trailIds[i] = parts.trailId
    this.parentIds[i] = parts.parentId
    this.names[i] = parts.name
    this.numbers[i * 3] = parts.seq
    this.numbers[i * 3 + 1] = parts.startedAt
    this.numbers[i * 3 + 2] = parts.endedAt
    this.sizes[i] = parts.bytes
    this.meta[i] = parts.layer | (parts.status << 3) | (parts.nameQuoted ? 32 : 0)
    this.forms[i] = PARTS | (STEP << 2)
  }

  /** Stores a record's JSON in slot `i`; returns its UTF-8 bytes. */
  private storeJson(i: number, kind: Kind, json: string): number {
    const bytes = utf8Length(json)
    this.items[i] = flatten(json)
    this.sizes[i] = bytes
    this.forms[i] = JSON_TEXT | (kind << 2)
    return bytes
  }

  /** Doubles the slots (up to the bound), oldest record first at index 0. */
  private grow(): void {
    const n = Math.min(this.capacity, this.n * 2)
    const items = new Array<unknown>(n)
    const trailIds = new Array<string | undefined>(n)
    const parentIds = new Array<string | null | undefined>(n)
    const names = new Array<string | undefined>(n)
    const numbers = new Float64Array(n * 3)
    const sizes = new Float64Array(n)
    const forms = new Uint8Array(n)
    const meta = new Uint8Array(n)
    for (let k = 0; k < this.size; k++) {
      const i = this.index(k)
      items[k] = this.items[i]
      trailIds[k] = this.trailIds[i]
      parentIds[k] = this.parentIds[i]
      names[k] = this.names[i]
      numbers[k * 3] = this.numbers[i * 3]!
      numbers[k * 3 + 1] = this.numbers[i * 3 + 1]!
      numbers[k * 3 + 2] = this.numbers[i * 3 + 2]!
      sizes[k] = this.sizes[i]!
      forms[k] = this.forms[i]!
      meta[k] = this.meta[i]!
    }
    this.n = n
    this.head = 0
    this.items = items
    this.trailIds = trailIds
    this.parentIds = parentIds
    this.names = names
    this.numbers = numbers
    this.sizes = sizes
    this.forms = forms
    this.meta = meta
  }
}

