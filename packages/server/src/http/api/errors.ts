import { ErrorCode, scanStructure } from '@roomkit/protocol';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../observability/logger.js';
import { SpacesError, type SpacesErrorCode } from '../../spaces/errors.js';
import { ROOM_ID_RULE } from '../upgrade-target.js';

/** Error codes of the HTTP API, in the `{"success":false,"error":{"code","message"}}` body. */
export const ApiErrorCode = {
  BadRequest: 'bad_request',
  InvalidRoomId: 'invalid_room_id',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  RoomFull: 'room_full',
  Banned: 'banned',
  NotFound: 'not_found',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  RateLimited: 'rate_limited',
  RoomLimit: 'room_limit',
  InternalError: 'internal_error',
  ShuttingDown: 'shutting_down',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** The `WWW-Authenticate` challenge of a 401 (API keys and users' JWTs are both bearer tokens). */
export const CHALLENGE = { 'www-authenticate': 'Bearer realm="roomkit"' };

/**
 * Refuses a body field (`data`, `state`) nested deeper than `maxDepth` or holding a forbidden key
 * (`__proto__`, ...) with a 400 that names the field.
 */
export function checkBodyJson(value: unknown, field: string, maxDepth: number): void {
  const problem = scanStructure(value, maxDepth);
  if (!problem) return;
  const message =
    problem.code === ErrorCode.TooDeep
      ? `body/${field} nests deeper than ${maxDepth} levels`
      : `body/${field}: ${problem.message}`;
  throw new ApiError(400, ApiErrorCode.BadRequest, message);
}

/** An error the API answers with as it is: its status, code and message go to the client. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const ErrorBody = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String({ description: 'Machine-readable error code, e.g. `bad_request`.' }),
      message: Type.String({ description: 'What was wrong, for people.' }),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error answer has this shape.' },
);
export type ErrorBody = Static<typeof ErrorBody>;

export function errorBody(code: string, message: string): ErrorBody {
  return { success: false, error: { code, message } };
}

/** How a refused Spaces operation is answered: the service's code → status and API code. */
const SPACES_ERRORS: Readonly<Record<SpacesErrorCode, [number, ApiErrorCode]>> = {
  invalid_input: [400, ApiErrorCode.BadRequest],
  forbidden: [403, ApiErrorCode.Forbidden],
  room_full: [403, ApiErrorCode.RoomFull],
  banned: [403, ApiErrorCode.Banned],
  not_found: [404, ApiErrorCode.NotFound],
  room_limit: [429, ApiErrorCode.RoomLimit],
};

/** What each error status of the API means, for the OpenAPI description. */
const ERROR_MEANINGS: Readonly<Record<number, string>> = {
  400: '`bad_request`: a field is wrong (the message names it: `body/text must be string`), or `invalid_room_id`.',
  401: '`unauthorized`: no API key presented (or the server has none configured).',
  403: '`forbidden`: the API key is wrong, or `authorize` refused the request.',
  413: '`payload_too_large`: the body is larger than the limit (64 KiB by default).',
  415: '`unsupported_media_type`: the Content-Type is not `application/json`.',
  429: '`rate_limited`: too many requests for this key or address; `Retry-After` says when to retry.',
};

/** The error answers a route may give, for its OpenAPI description. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return describedErrors(ERROR_MEANINGS, statuses);
}

/** Error answers with the meanings of `meanings` (routes whose statuses mean other things). */
export function describedErrors(
  meanings: Readonly<Record<number, string>>,
  statuses: readonly number[],
): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: meanings[status] ?? 'An error.', $ref: 'ErrorBody#' },
    ]),
  );
}

/** What a `pattern` violation means, by pattern source: ajv's own message shows the regex. */
const PATTERN_MESSAGES = new Map<string, string>();

/** Registers the message for values not matching `source`; returns `source` for the schema. */
export function patternWithMessage(source: string, message: string): string {
  PATTERN_MESSAGES.set(source, message);
  return source;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Turns the first schema violation into a message naming the field, e.g. `body/text must be
 * string`, `body/text is required`, `body/extra is not an allowed field`.
 */
export function formatSchemaError(errors: readonly AjvError[], dataVar: string): Error {
  const first = errors[0];
  if (!first) return new Error(`${dataVar} is invalid`);
  const where = `${dataVar}${first.instancePath}`;
  switch (first.keyword) {
    case 'required':
      return new Error(`${where}/${String(first.params.missingProperty)} is required`);
    case 'additionalProperties':
      return new Error(
        `${where}/${String(first.params.additionalProperty)} is not an allowed field`,
      );
    case 'pattern': {
      const custom = PATTERN_MESSAGES.get(String(first.params.pattern));
      return new Error(`${where} ${custom ?? first.message ?? 'is invalid'}`);
    }
    default:
      return new Error(`${where} ${first.message ?? 'is invalid'}`);
  }
}

/** The message of a Fastify body-parsing error, for the client. */
function parseErrorMessage(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body is empty; send a JSON object';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'body size does not match Content-Length';
    case 'FST_ERR_BAD_URL':
      return 'malformed request URL';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Syntax errors, and the prototype-poisoning refusals of the JSON parser.
      return 'body is not valid JSON (or has a "__proto__" or "constructor.prototype" key)';
    default:
      return 'bad request';
  }
}

/** Maps any error of a request to the API's status and error body. */
function describeError(
  error: unknown,
  maxBodyBytes: number,
): { status: number; code: ApiErrorCode; message: string } {
  if (error instanceof ApiError) {
    return { status: error.statusCode, code: error.code, message: error.message };
  }
  if (error instanceof SpacesError) {
    const [status, code] = SPACES_ERRORS[error.code] ?? [500, ApiErrorCode.InternalError];
    return { status, code, message: status === 500 ? 'internal server error' : error.message };
  }
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError?.validation) {
    return { status: 400, code: ApiErrorCode.BadRequest, message: String(fastifyError.message) };
  }
  const status = fastifyError?.statusCode;
  if (fastifyError?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return { status: 400, code: ApiErrorCode.InvalidRoomId, message: ROOM_ID_RULE };
  }
  if (status === 413) {
    return {
      status,
      code: ApiErrorCode.PayloadTooLarge,
      message: `body is larger than ${maxBodyBytes} bytes`,
    };
  }
  if (status === 415) {
    return {
      status,
      code: ApiErrorCode.UnsupportedMediaType,
      message: 'Content-Type must be application/json',
    };
  }
  if (status === 400) {
    return {
      status,
      code: ApiErrorCode.BadRequest,
      message: parseErrorMessage(fastifyError as FastifyError),
    };
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: ApiErrorCode.BadRequest, message: 'bad request' };
  }
  return { status: 500, code: ApiErrorCode.InternalError, message: 'internal server error' };
}

/** Answers `error` in the server's JSON shape (5xx logged, with no detail for the client). */
export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
  maxBodyBytes: number,
): FastifyReply {
  const { status, code, message } = describeError(error, maxBodyBytes);
  if (status >= 500 && !(error instanceof ApiError)) {
    logger.error(
      { err: error, method: request.method, url: request.url },
      'HTTP API request failed',
    );
  }
  if (error instanceof ApiError) reply.headers(error.headers);
  return reply.code(status).type('application/json').send(errorBody(code, message));
}

/** Error and not-found answers in the server's JSON shape, for every route of `app`. */
export function installErrorHandlers(
  app: FastifyInstance,
  logger: Logger,
  maxBodyBytes: number,
): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) =>
    sendError(error, request, reply, logger, maxBodyBytes),
  );
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    return reply
      .code(404)
      .type('application/json')
      .send(errorBody(ApiErrorCode.NotFound, `no route for ${request.method} ${path}`));
  });
}
