/**
 * Makes user values JSON-safe before they are queued (DESIGN.md section 2). Never throws.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import { utf8Length } from "../schema/Common.js"

/** Longest string kept whole, in UTF-8 bytes. */
export const maxStringBytes = 32 * 1024
/**
 * Largest record, in UTF-8 bytes of compact JSON: the server's limit (v1.1). Values are cut here
 * by estimate (strings over 32 KiB; a step's input and output together, in `state.ts`); the lane
 * then measures each record exactly as it is sent and cuts what is still over (`recordLimit.ts`).
 */
export const maxRecordBytes = 256 * 1024
/** Deepest nesting kept. */
export const maxDepth = 64

const encoder = new TextEncoder()


const truncateString = (s: string, bytes: number): string => {
  const encoded = encoder.encode(s)
  let end = maxStringBytes
  // step back to a character boundary
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--
  const kept = new TextDecoder().decode(encoded.subarray(0, end))
  return `${kept}…[truncated: ${bytes} bytes, limit ${maxStringBytes}]`
}

/**
 * The result of making a value JSON-safe, with an estimate of its JSON size in bytes.
 */
export interface Safe {
  readonly value: unknown
  readonly bytes: number
}

/**
 * What a whole conversion could not keep: the path of the value (`payload.items[3]`) and why.
 */
export interface Loss {
  readonly path: string
  readonly what: string
}

class Walker {
  bytes = 0
  readonly ancestors = new Set<object>()
  /**
   * `whole`: never cut a value (a leash payload, which a reviewer must see all of); anything that
   * cannot be kept whole is reported in `loss` instead, with its path.
   */
  readonly path: Array<string | number> | undefined
  loss: Loss | undefined

  constructor(readonly whole: boolean, root: string) {
    this.path = whole ? [root] : undefined
  }

  lost(what: string): void {
    if (this.loss !== undefined || this.path === undefined) return
    let path = ""
    for (const p of this.path) path += typeof p === "number" ? `[${p}]` : path === "" ? p : `.${p}`
    this.loss = { path, what }
  }

  string(s: string): string {
    if (this.whole) return s
    // a string of n UTF-16 units is at most 3n UTF-8 bytes: only measure when it may be long
    if (s.length * 3 <= maxStringBytes) {
      this.bytes += s.length + 2
      return s
    }
    const bytes = utf8Length(s)
    if (bytes <= maxStringBytes) {
      this.bytes += bytes + 2
      return s
    }
    const out = truncateString(s, bytes)
    this.bytes += maxStringBytes + 48
    return out
  }

  walk(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case "string":
        return this.string(value)
      case "number":
        this.bytes += 8
        return Number.isFinite(value) ? value : null
      case "boolean":
        this.bytes += 5
        return value
      case "bigint":
        return this.string(value.toString())
      case "undefined":
      case "function":
      case "symbol":
        return undefined
    }
    if (value === null) {
      this.bytes += 4
      return null
    }
    const obj = value as object
    if (depth >= maxDepth) {
      this.lost(`it is nested deeper than ${maxDepth} levels`)
      return this.string(`[Truncated: nested deeper than ${maxDepth}]`)
    }
    if (this.ancestors.has(obj)) return this.string("[Circular]")
    if (obj instanceof Date) {
      return Number.isNaN(obj.getTime()) ? this.string("Invalid Date") : this.string(obj.toISOString())
    }
    if (Redacted.isRedacted(obj)) return this.string("<redacted>")
    if (obj instanceof Error) {
      const tag = (obj as { _tag?: unknown })._tag
      return {
        type: this.string(typeof tag === "string" ? tag : obj.name),
        message: this.string(typeof obj.message === "string" ? obj.message : String(obj.message))
      }
    }
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
      this.lost(`it is binary data (${obj.constructor.name}, ${obj.byteLength} bytes), which JSON cannot carry: encode it first (base64, hex)`)
      return this.string(`[${obj.constructor.name} ${obj.byteLength} bytes]`)
    }
    this.ancestors.add(obj)
    try {
      if (Array.isArray(obj)) {
        const out = new Array<unknown>(obj.length)
        for (let i = 0; i < obj.length; i++) {
          this.path?.push(i)
          const item = this.walk(obj[i], depth + 1)
          this.path?.pop()
          out[i] = item === undefined ? null : item
          this.bytes += 1
        }
        this.bytes += 2
        return out
      }
      if (obj instanceof Map) {
        const out: Record<string, unknown> = {}
        for (const [k, v] of obj) this.field(out, typeof k === "string" ? k : String(k), v, depth)
        return out
      }
      if (obj instanceof Set) {
        return this.walk(Array.from(obj), depth)
      }
      const toJSON = (obj as { toJSON?: unknown }).toJSON
      if (typeof toJSON === "function") {
        const json = toJSON.call(obj)
        if (json !== obj) return this.walk(json, depth + 1)
      }
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(obj)) {
        let v: unknown
        try {
          v = (obj as Record<string, unknown>)[key]
        } catch (e) {
          v = `[Unreadable: ${e instanceof Error ? e.message : String(e)}]`
          this.path?.push(key)
          this.lost(`reading it threw: ${e instanceof Error ? e.message : String(e)}`)
          this.path?.pop()
        }
        this.field(out, key, v, depth)
      }
      this.bytes += 2
      return out
    } catch (e) {
      this.lost(`it could not be made JSON-safe: ${e instanceof Error ? e.message : String(e)}`)
      return this.string(`[Unserializable: ${e instanceof Error ? e.message : String(e)}]`)
    } finally {
      this.ancestors.delete(obj)
    }
  }

  field(out: Record<string, unknown>, key: string, v: unknown, depth: number): void {
    this.path?.push(key)
    const item = this.walk(v, depth + 1)
    this.path?.pop()
    if (item !== undefined) {
      out[key] = item
      this.bytes += key.length + 4
    }
  }
}

/**
 * Makes a value JSON-safe: `bigint` → string, `Date` → ISO string, `Error` → `{type, message}`,
 * `Redacted` → `"<redacted>"`, cycles → `"[Circular]"`, functions and symbols dropped, `Map` →
 * an object of its entries, `Set` → an array, objects with `toJSON` → its result, other objects →
 * their own enumerable fields, strings over 32 KiB truncated with a visible marker.
 */
export const toJsonSafe = (value: unknown): Safe => {
  const walker = new Walker(false, "")
  try {
    const out = walker.walk(value, 0)
    return { value: out, bytes: walker.bytes }
  } catch (e) {
    const message = `[Unserializable: ${e instanceof Error ? e.message : String(e)}]`
    return { value: message, bytes: message.length + 2 }
  }
}

/**
 * Makes a value JSON-safe by the same rules as `toJsonSafe`, but never cuts it: strings of any
 * length are kept. What cannot be kept whole (nesting deeper than 64 levels, binary data, a field
 * whose getter throws) is reported as `loss`, the first one found, with its path under `root`;
 * the caller refuses the value then. For a leash's payload and risk signals: a reviewer must
 * see all of what they approve (DESIGN.md section 2, v1.1).
 */
export const toJsonSafeWhole = (value: unknown, root: string): { readonly value: unknown; readonly loss?: Loss } => {
  const walker = new Walker(true, root)
  try {
    const out = walker.walk(value, 0)
    return walker.loss === undefined ? { value: out } : { value: out, loss: walker.loss }
  } catch (e) {
    const what = `it could not be made JSON-safe: ${e instanceof Error ? e.message : String(e)}`
    return { value: undefined, loss: { path: root, what } }
  }
}

/**
 * The marker that replaces a field when its record would exceed 256 KiB.
 */
export const recordTruncated = (field: string, bytes: number): string =>
  `[truncated: ${field} was about ${bytes} bytes; a record is limited to ${maxRecordBytes} bytes]`

/**
 * A JSON-safe object of attributes (a bark's, or an event's).
 */
export const toJsonSafeAttributes = (attributes: unknown): Safe => {
  const safe = toJsonSafe(attributes)
  if (safe.value !== null && typeof safe.value === "object" && !Array.isArray(safe.value)) return safe
  return { value: safe.value === undefined ? {} : { value: safe.value }, bytes: safe.bytes + 10 }
}
