/**
 * A bounded FIFO of records waiting to be exported: one of the exporter's two lanes.
 *
 * Offering pushes the record as it is (`push`: a few stores, no allocation once the ring has
 * grown). The exporter then compacts waiting records in place (`compact`), a few dozen at a time:
 * each record is encoded once to its wire JSON (`encode.ts`), whose UTF-8 bytes go into the
 * lane's arena (`arena.ts`), and the record itself is let go; a record that does not encode
 * becomes a tombstone, counted once and skipped when its batch is assembled. A compacted record
 * is its bytes and a few numbers, far smaller than the object graph it came from, and no string
 * or object of it is left for the garbage collector to keep alive until its batch: which is why
 * records are compacted soon after they arrive. Compacting measures the record's JSON exactly as
 * it will be sent; one over the server's limit of 262,144 bytes is cut to fit there
 * (`recordLimit.ts`), so a record within it pays one comparison.
 *
 * The slots are columns (one array per field) that grow by doubling up to the bound, so an idle
 * lane holds 64 slots, and a slot is a few numbers in those columns (and the record until it is
 * compacted): no object per record.
 *
 * @internal
 */
import { utf8Length } from "../schema/Common.js"
import { Arena } from "./arena.js"
import { encodeRecord, type Kind, SchemaRejection, STEP } from "./encode.js"
import { maxRecordBytes } from "./jsonSafe.js"
import { fitRecord } from "./recordLimit.js"

/** What a slot holds. */
const RAW = 0
const ENCODED = 1
const DEAD = 3

const initialSlots = 64

/** Records compacted before their texts are written into the arena, at most. */
const writeRun = 256

const decoder = new TextDecoder()

/** Called for a record that does not encode: its kind and the schema's message. */
export type OnInvalid = (kind: Kind, message: string) => void

export class Lane {
  /** Slots allocated (grows by doubling up to `capacity`). */
  private n: number
  /** RAW: the record; otherwise undefined. */
  private items: Array<unknown>
  /** ENCODED: the arena chunk and offset of the record's bytes, and their length. */
  private chunks: Float64Array
  private offsets: Float64Array
  private sizes: Float64Array
  /** What the slot holds (low two bits) and its kind (bit 2). */
  private forms: Uint8Array
  /** The encoded records' bytes. */
  readonly arena = new Arena()
  /** The JSON of the records being compacted, not yet written, and their slots. */
  private readonly texts: Array<string> = []
  private readonly slots: Array<number> = []

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
    this.chunks = new Float64Array(this.n)
    this.offsets = new Float64Array(this.n)
    this.sizes = new Float64Array(this.n)
    this.forms = new Uint8Array(this.n)
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
  compact(budget: number, onInvalid: OnInvalid): number {
    const { texts, slots } = this
    let done = 0
    while (this.raw > 0 && done < budget) {
      const i = this.index(this.size - this.raw)
      const kind = ((this.forms[i]! >> 2) & 1) as Kind
      const record = this.items[i]
      this.items[i] = undefined
      let json = encodeRecord(record, kind)
      if (json instanceof SchemaRejection) {
        this.forms[i] = DEAD | (kind << 2)
        this.dead++
        onInvalid(kind, json.message)
      } else {
        // the one check a record within the server's limit pays (see recordLimit.ts): a UTF-16
        // unit is at most 3 bytes, so only a long text is measured
        if (json.length > maxRecordBytes / 3) {
          const bytes = utf8Length(json)
          if (bytes > maxRecordBytes) json = this.fit(kind, record, json, bytes)
        }
        texts.push(json)
        slots.push(i)
        this.forms[i] = ENCODED | (kind << 2)
        if (texts.length === writeRun) this.writeTexts()
      }
      this.raw--
      done++
    }
    this.writeTexts()
    return this.raw
  }

  /** Writes the texts compacted so far into the arena, and where each went into its slot. */
  private writeTexts(): void {
    const { arena, slots, texts } = this
    if (texts.length === 0) return
    arena.write(texts)
    for (let k = 0; k < slots.length; k++) {
      const i = slots[k]!
      this.chunks[i] = arena.placedChunk[k]!
      this.offsets[i] = arena.placedOffset[k]!
      this.sizes[i] = arena.placedBytes[k]!
    }
    texts.length = 0
    slots.length = 0
  }

  /** The JSON of `record` (whose JSON is `json`, `bytes` bytes, over the limit) cut to fit by `fitRecord`, or `json` when cutting fails. */
  private fit(kind: Kind, record: unknown, json: string, bytes: number): string {
    // each candidate is measured by encoding it: the last one measured is usually the one kept
    let last: unknown = record
    let lastJson: string | SchemaRejection = json
    const measure = (candidate: unknown): number => {
      last = candidate
      lastJson = encodeRecord(candidate, kind)
      return lastJson instanceof SchemaRejection ? -1 : utf8Length(lastJson)
    }
    let cut: unknown = record
    try {
      cut = fitRecord(record, kind === STEP, bytes, measure)
    } catch {
      // JSON.stringify threw on a part: keep the record as it was
    }
    const cutJson = cut === last ? lastJson : encodeRecord(cut, kind)
    // the record itself encoded: keep it when its cut does not
    return cutJson instanceof SchemaRejection ? json : cutJson
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

  /** The arena chunk of the head record's bytes; only after `ready()`. */
  headChunk(): number {
    return this.chunks[this.head]!
  }

  /** The offset of the head record's bytes in its chunk; only after `ready()`. */
  headOffset(): number {
    return this.offsets[this.head]!
  }

  /** The JSON of the head record; only after `ready()`. */
  headJson(): string {
    const at = this.offsets[this.head]!
    return decoder.decode(this.arena.chunk(this.chunks[this.head]!).subarray(at, at + this.sizes[this.head]!))
  }

  /**
   * Lets the arena go of what the records taken out were in: call once their bytes are copied
   * (`shift` keeps them, so a batch is taken out first and copied after).
   */
  release(): void {
    for (let k = 0; k < this.size; k++) {
      const i = this.index(k)
      const form = this.forms[i]! & 3
      if (form === ENCODED) {
        this.arena.releaseBefore(this.chunks[i]!)
        return
      }
      // raw records are the newest: no encoded one after them
      if (form === RAW) break
    }
    // no encoded record left: the arena starts again
    this.arena.reset()
  }

  /** Removes the head slot. */
  shift(): void {
    const i = this.head
    const form = this.forms[i]! & 3
    if (form === DEAD) this.dead--
    else if (form === RAW) this.raw--
    this.items[i] = undefined
    this.head = this.head + 1 === this.n ? 0 : this.head + 1
    this.size--
    this.taken++
  }

  /** Empties the lane; returns how many live records it held. */
  clear(): number {
    const live = this.live
    while (this.size > 0) this.shift()
    this.release()
    return live
  }

  private index(offset: number): number {
    const i = this.head + offset
    return i < this.n ? i : i - this.n
  }

  /** Doubles the slots (up to the bound), oldest record first at index 0. */
  private grow(): void {
    const n = Math.min(this.capacity, this.n * 2)
    const items = new Array<unknown>(n)
    const chunks = new Float64Array(n)
    const offsets = new Float64Array(n)
    const sizes = new Float64Array(n)
    const forms = new Uint8Array(n)
    for (let k = 0; k < this.size; k++) {
      const i = this.index(k)
      items[k] = this.items[i]
      chunks[k] = this.chunks[i]!
      offsets[k] = this.offsets[i]!
      sizes[k] = this.sizes[i]!
      forms[k] = this.forms[i]!
    }
    this.n = n
    this.head = 0
    this.items = items
    this.chunks = chunks
    this.offsets = offsets
    this.sizes = sizes
    this.forms = forms
  }
}

