import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { ErrorCode } from './errors.js';
import {
  DEFAULT_MAX_DEPTH,
  FORBIDDEN_KEYS,
  isRecord,
  MESSAGE_TYPE_PATTERN,
  ROOM_ID_PATTERN,
} from './limits.js';
import { type AppMessage, type BuiltInClientMessage, SERVER_ONLY_TYPES } from './messages.js';
import { clientMessageSchemas, type Ref } from './schemas.js';

export type DecodedMessage =
  | { kind: 'builtin'; message: BuiltInClientMessage }
  | { kind: 'app'; message: AppMessage };

export interface DecodeError {
  code: ErrorCode;
  /** Human-readable reason naming the offending field. */
  message: string;
  /** The `ref` the message carried, when it could be read, so the reply can echo it. */
  ref?: Ref;
  /** The message's `type`, when it was a valid type name (a Spaces type's refusal is `room:error`). */
  type?: string;
}

export type DecodeResult = ({ ok: true } & DecodedMessage) | ({ ok: false } & DecodeError);

export interface DecodeOptions {
  /** Deepest allowed nesting of objects and arrays (the message itself is depth 1). */
  maxDepth?: number;
}

const RESERVED_PREFIX = 'room:';
const compiled = new Map<string, TypeCheck<TSchema>>(
  Object.entries(clientMessageSchemas).map(([type, schema]) => [
    type,
    TypeCompiler.Compile(schema),
  ]),
);

function readRef(value: unknown): Ref | undefined {
  if (typeof value === 'string' && value.length <= 64) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  return undefined;
}

/**
 * Walks the parsed value without recursion (a hostile frame cannot exhaust the stack) and
 * reports the first structural problem: nesting too deep, or a key that could reach a prototype.
 */
export function scanStructure(root: unknown, maxDepth: number): DecodeError | null {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDepth) {
      return { code: ErrorCode.TooDeep, message: `message nests deeper than ${maxDepth} levels` };
    }
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'object' && item !== null) stack.push([item, depth + 1]);
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        return { code: ErrorCode.ForbiddenKey, message: `key "${key}" is not allowed` };
      }
      const item = (value as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push([item, depth + 1]);
    }
  }
  return null;
}

function describeSchemaError(type: string, message: unknown): string {
  const check = compiled.get(type)!;
  const first = check.Errors(message).First();
  if (!first) return `invalid ${type} message`;
  const field =
    first.path === '' ? 'message' : `field "${first.path.slice(1).replace(/\//g, '.')}"`;
  return `${type}: ${field}: ${first.message}`;
}

/**
 * Parses and validates one text frame from a client. Never throws: every problem comes back as
 * a `DecodeError` with a stable code and the `ref` to echo.
 */
export function decodeClientMessage(text: string, options: DecodeOptions = {}): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.InvalidJson, message: 'frame is not valid JSON' };
  }
  if (!isRecord(parsed)) {
    return { ok: false, code: ErrorCode.InvalidMessage, message: 'message must be a JSON object' };
  }
  const ref = readRef(parsed.ref);
  const { type, room } = parsed;
  const typeName = typeof type === 'string' && MESSAGE_TYPE_PATTERN.test(type) ? type : undefined;
  const fail = (code: ErrorCode, message: string): DecodeResult => {
    const error: DecodeResult = { ok: false, code, message };
    if (ref !== undefined) error.ref = ref;
    if (typeName !== undefined) error.type = typeName;
    return error;
  };

  const structural = scanStructure(parsed, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (structural) return fail(structural.code, structural.message);

  if (typeof type !== 'string' || typeName === undefined) {
    return fail(
      ErrorCode.InvalidMessage,
      'field "type" must be a string of 1-64 printable characters without spaces',
    );
  }
  if (parsed.ref !== undefined && ref === undefined) {
    return fail(
      ErrorCode.InvalidMessage,
      'field "ref" must be a string of at most 64 characters or an integer',
    );
  }
  const { cid } = parsed;
  if (cid !== undefined && (typeof cid !== 'string' || cid.length === 0 || cid.length > 64)) {
    return fail(
      ErrorCode.InvalidMessage,
      `${type}: field "cid" must be a string of 1-64 characters`,
    );
  }
  if (room !== undefined && (typeof room !== 'string' || !ROOM_ID_PATTERN.test(room))) {
    return fail(ErrorCode.InvalidRoomId, 'field "room" is not a valid room id');
  }
  if (SERVER_ONLY_TYPES.has(type)) {
    return fail(ErrorCode.ReservedType, `type "${type}" is sent only by the server`);
  }

  const check = compiled.get(type);
  if (!check) {
    // `room:*` is the server's room protocol (joins, spaces events): clients cannot relay such names.
    if (type.startsWith(RESERVED_PREFIX)) {
      return fail(ErrorCode.ReservedType, `type "${type}" is reserved for the room protocol`);
    }
    return { ok: true, kind: 'app', message: parsed as AppMessage };
  }
  if (!check.Check(parsed))
    return fail(ErrorCode.InvalidMessage, describeSchemaError(type, parsed));
  return { ok: true, kind: 'builtin', message: parsed as unknown as BuiltInClientMessage };
}

/** Encodes a server message once; the same string is then sent to every recipient. */
export function encodeServerMessage(message: object): string {
  return JSON.stringify(message);
}
