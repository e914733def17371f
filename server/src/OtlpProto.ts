/**
 * The OTLP trace messages `POST /v1/traces` reads and answers, in protobuf, through
 * `protobufjs` (a well-kept, widely used protobuf runtime; the OpenTelemetry JS packages only
 * ship an encoder of requests, not a decoder). The message definitions are those of
 * `opentelemetry-proto` (`collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`,
 * `common/v1/common.proto`, `resource/v1/resource.proto`) and `google/rpc/status.proto`, written
 * here as a protobufjs JSON descriptor (field names in the lowerCamelCase of OTLP/JSON), so no
 * `.proto` file is read at run time.
 *
 * @since 0.2.0
 */
import protobuf from "protobufjs/light.js"

const descriptor = {
  nested: {
    otlp: {
      nested: {
        AnyValue: {
          oneofs: {
            value: {
              oneof: ["stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"]
            }
          },
          fields: {
            stringValue: { type: "string", id: 1 },
            boolValue: { type: "bool", id: 2 },
            intValue: { type: "int64", id: 3 },
            doubleValue: { type: "double", id: 4 },
            arrayValue: { type: "ArrayValue", id: 5 },
            kvlistValue: { type: "KeyValueList", id: 6 },
            bytesValue: { type: "bytes", id: 7 }
          }
        },
        ArrayValue: { fields: { values: { rule: "repeated", type: "AnyValue", id: 1 } } },
        KeyValueList: { fields: { values: { rule: "repeated", type: "KeyValue", id: 1 } } },
        KeyValue: { fields: { key: { type: "string", id: 1 }, value: { type: "AnyValue", id: 2 } } },
        InstrumentationScope: {
          fields: {
            name: { type: "string", id: 1 },
            version: { type: "string", id: 2 },
            attributes: { rule: "repeated", type: "KeyValue", id: 3 },
            droppedAttributesCount: { type: "uint32", id: 4 }
          }
        },
        Resource: {
          fields: {
            attributes: { rule: "repeated", type: "KeyValue", id: 1 },
            droppedAttributesCount: { type: "uint32", id: 2 }
          }
        },
        ResourceSpans: {
          fields: {
            resource: { type: "Resource", id: 1 },
            scopeSpans: { rule: "repeated", type: "ScopeSpans", id: 2 },
            schemaUrl: { type: "string", id: 3 }
          }
        },
        ScopeSpans: {
          fields: {
            scope: { type: "InstrumentationScope", id: 1 },
            spans: { rule: "repeated", type: "Span", id: 2 },
            schemaUrl: { type: "string", id: 3 }
          }
        },
        Span: {
          fields: {
            traceId: { type: "bytes", id: 1 },
            spanId: { type: "bytes", id: 2 },
            traceState: { type: "string", id: 3 },
            parentSpanId: { type: "bytes", id: 4 },
            flags: { type: "fixed32", id: 16 },
            name: { type: "string", id: 5 },
            kind: { type: "int32", id: 6 },
            startTimeUnixNano: { type: "fixed64", id: 7 },
            endTimeUnixNano: { type: "fixed64", id: 8 },
            attributes: { rule: "repeated", type: "KeyValue", id: 9 },
            droppedAttributesCount: { type: "uint32", id: 10 },
            events: { rule: "repeated", type: "Event", id: 11 },
            droppedEventsCount: { type: "uint32", id: 12 },
            links: { rule: "repeated", type: "Link", id: 13 },
            droppedLinksCount: { type: "uint32", id: 14 },
            status: { type: "Status", id: 15 }
          }
        },
        Event: {
          fields: {
            timeUnixNano: { type: "fixed64", id: 1 },
            name: { type: "string", id: 2 },
            attributes: { rule: "repeated", type: "KeyValue", id: 3 },
            droppedAttributesCount: { type: "uint32", id: 4 }
          }
        },
        Link: {
          fields: {
            traceId: { type: "bytes", id: 1 },
            spanId: { type: "bytes", id: 2 },
            traceState: { type: "string", id: 3 },
            attributes: { rule: "repeated", type: "KeyValue", id: 4 },
            droppedAttributesCount: { type: "uint32", id: 5 },
            flags: { type: "fixed32", id: 6 }
          }
        },
        Status: { fields: { message: { type: "string", id: 2 }, code: { type: "int32", id: 3 } } },
        ExportTraceServiceRequest: { fields: { resourceSpans: { rule: "repeated", type: "ResourceSpans", id: 1 } } },
        ExportTraceServiceResponse: { fields: { partialSuccess: { type: "ExportTracePartialSuccess", id: 1 } } },
        ExportTracePartialSuccess: {
          fields: { rejectedSpans: { type: "int64", id: 1 }, errorMessage: { type: "string", id: 2 } }
        },
        Any: { fields: { typeUrl: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } },
        RpcStatus: {
          fields: {
            code: { type: "int32", id: 1 },
            message: { type: "string", id: 2 },
            details: { rule: "repeated", type: "Any", id: 3 }
          }
        }
      }
    }
  }
}

const root = protobuf.Root.fromJSON(descriptor)
const requestType = root.lookupType("otlp.ExportTraceServiceRequest")
const responseType = root.lookupType("otlp.ExportTraceServiceResponse")
const statusType = root.lookupType("otlp.RpcStatus")

/**
 * An `ExportTraceServiceRequest` decoded from protobuf, as a plain object shaped like its
 * OTLP/JSON form: lowerCamelCase fields, 64-bit integers as decimal strings, enums as numbers,
 * fields at their default left out; `bytes` fields (ids, `bytesValue`) stay bytes. Throws on
 * bytes that are not such a message (the caller answers `400`).
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodeRequest = (bytes: Uint8Array): unknown =>
  requestType.toObject(requestType.decode(bytes), { longs: String, defaults: false, arrays: false })

/**
 * An `ExportTraceServiceResponse` in protobuf: empty on full success, with `partial_success`
 * when spans were rejected.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeResponse = (rejectedSpans: number, errorMessage: string): Uint8Array =>
  responseType.encode(
    rejectedSpans === 0 && errorMessage === ""
      ? {}
      : { partialSuccess: { rejectedSpans, errorMessage } }
  ).finish()

/**
 * A `google.rpc.Status` in protobuf: the body of every OTLP/HTTP failure.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeStatus = (code: number, message: string): Uint8Array =>
  statusType.encode({ code, message }).finish()
