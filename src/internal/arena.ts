/**
 * A lane's arena: the UTF-8 bytes of its compacted records, each followed by a comma, in chunks
 * written front to back and let go front to back, as a lane takes its records in and out.
 *
 * `write` takes the JSON of a run of records and puts them back to back: a run of texts that fits
 * the newest chunk is written by one `encodeInto`, and when it was all ASCII (what the SDK's own
 * records are, unless a user's text is not) each text's UTF-8 length is its length, so nothing is
 * measured. A run with other characters is measured text by text and written again where its
 * exact lengths put it. A record larger than a chunk gets a chunk of its own. Records in one chunk
 * lie back to back, so a batch copies a run of them, commas included, in one call.
 *
 * Chunks are numbered as they are opened (a number is never reused); a lane lets go of the chunks
 * before the one its oldest record is in (`releaseBefore`), or of all but the newest when it
 * holds no encoded record (`reset`). A few chunks let go are kept for the next ones, so a steady
 * exporter allocates none.
 *
 * @internal
 */
import { utf8Length } from "../schema/Common.js"

/** Bytes of a chunk, unless a record needs more. */
const chunkBytes = 64 * 1024
/** Chunks let go and kept for reuse. */
const maxSpares = 2

const encoder = new TextEncoder()
const comma = 44

export class Arena {
  /** The chunks in use, the oldest first; `chunks[k]` is chunk number `first + k`. */
  private chunks: Array<Uint8Array> = []
  private first = 0
  /** Where the next record goes in the newest chunk. */
  private cursor = 0
  private spares: Array<Uint8Array> = []
  /** Where `write` put text `k`: chunk number, offset in it, UTF-8 length. */
  placedChunk = new Float64Array(64)
  placedOffset = new Float64Array(64)
  placedBytes = new Float64Array(64)

  /** Chunks in use. */
  get chunksInUse(): number {
    return this.chunks.length
  }

  /** The bytes of chunk number `n`, which must be in use. */
  chunk(n: number): Uint8Array {
    return this.chunks[n - this.first]!
  }

  /**
   * Writes `texts` (records' JSON), each followed by a comma; `placed*[k]` then say where text
   * `k` is.
   */
  write(texts: ReadonlyArray<string>): void {
    if (this.placedBytes.length < texts.length) this.growPlaced(texts.length)
    let k = 0
    while (k < texts.length) {
      if (this.chunks.length === 0) this.open(0)
      let chunk = this.chunks[this.chunks.length - 1]!
      const free = chunk.length - this.cursor
      // the texts that fit the free space if they are ASCII, commas included
      let chars = 0
      let j = k
      while (j < texts.length && chars + texts[j]!.length + 1 <= free) chars += texts[j++]!.length + 1
      if (j === k) {
        // the next text does not fit here, whatever it holds: it starts a chunk
        this.open(utf8Length(texts[k]!) + 1)
        continue
      }
      const joined = j - k === 1 ? texts[k]! : texts.slice(k, j).join(",")
      const { read, written } = encoder.encodeInto(joined, chunk.subarray(this.cursor, this.cursor + chars - 1))
      if (read === joined.length && written === joined.length) {
        for (let m = k; m < j; m++) {
          const bytes = texts[m]!.length
          this.place(m, this.cursor, bytes)
          chunk[this.cursor + bytes] = comma
          this.cursor += bytes + 1
        }
      } else {
        // not all ASCII: each text where its exact length puts it (over what was just written)
        for (let m = k; m < j; m++) {
          const text = texts[m]!
          const bytes = utf8Length(text)
          if (this.cursor + bytes + 1 > chunk.length) {
            this.open(bytes + 1)
            chunk = this.chunks[this.chunks.length - 1]!
          }
          encoder.encodeInto(text, chunk.subarray(this.cursor, this.cursor + bytes))
          this.place(m, this.cursor, bytes)
          chunk[this.cursor + bytes] = comma
          this.cursor += bytes + 1
        }
      }
      k = j
    }
  }

  /** Lets go of every chunk numbered below `n`. */
  releaseBefore(n: number): void {
    while (this.first < n && this.chunks.length > 1) {
      this.spare(this.chunks.shift()!)
      this.first++
    }
  }

  /** No record is in the arena any more: keeps the newest chunk only, written from its start. */
  reset(): void {
    this.releaseBefore(this.first + this.chunks.length - 1)
    this.cursor = 0
  }

  private place(k: number, offset: number, bytes: number): void {
    this.placedChunk[k] = this.first + this.chunks.length - 1
    this.placedOffset[k] = offset
    this.placedBytes[k] = bytes
  }

  /** Opens a chunk of at least `size` bytes for the next record. */
  private open(size: number): void {
    const spare = size <= chunkBytes ? this.spares.pop() : undefined
    this.chunks.push(spare ?? new Uint8Array(Math.max(chunkBytes, size)))
    this.cursor = 0
  }

  private spare(chunk: Uint8Array): void {
    if (chunk.length === chunkBytes && this.spares.length < maxSpares) this.spares.push(chunk)
  }

  private growPlaced(n: number): void {
    const size = Math.max(n, this.placedBytes.length * 2)
    this.placedChunk = new Float64Array(size)
    this.placedOffset = new Float64Array(size)
    this.placedBytes = new Float64Array(size)
  }
}
