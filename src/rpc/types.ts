// Values XML-RPC carries, as JavaScript sees them. Mapping (both directions):
//   int/i4/i8 ↔ integer number (i8 only inside Number.MAX_SAFE_INTEGER), double ↔ non-integer number,
//   boolean ↔ boolean, string (or an untyped <value>) ↔ string, nil ↔ null,
//   dateTime.iso8601 ↔ Date (UTC, whole seconds on the wire), base64 ↔ Buffer,
//   array ↔ XmlRpcValue[], struct ↔ plain object.
export type XmlRpcValue = string | number | boolean | null | Date | Buffer | XmlRpcValue[] | { [k: string]: XmlRpcValue };

export interface XmlRpcLimits {
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Deepest nesting of arrays/structs inside one param. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_LIMITS: Required<XmlRpcLimits> = Object.freeze({ maxBytes: 1024 * 1024, maxDepth: 32 });

/**
 * Fault codes from the "specification for fault code interoperability" (xmlrpc-epi), which Python,
 * Apache XML-RPC and PHP also use. Application errors use APPLICATION.
 */
export const FaultCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  APPLICATION: -32500,
} as const;
