import type { IncomingMessage, ServerResponse } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import { type FastifyInstance, fastify } from 'fastify';
import type { ResolvedApiConfig } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { json } from '../requests.js';
import { ApiAuth } from './auth.js';
import {
  ApiError,
  ApiErrorCode,
  ErrorBody,
  errorBody,
  formatSchemaError,
  installErrorHandlers,
  sendError,
} from './errors.js';
import { openApiRoute, registerOpenApi } from './openapi.js';
import { type LiveRoomsApi, roomRoutes } from './rooms.js';

export interface ApiAppOptions {
  api: ResolvedApiConfig;
  /** The live room manager (`server.liveRooms`). */
  liveRooms: () => LiveRoomsApi;
  logger: Logger;
  /** Time `api.authorize` has to answer (the server's `limits.authTimeoutMs`). */
  authTimeoutMs: number;
  /** Deepest nesting of an emitted event's `data` (the server's `limits.maxDepth`). */
  maxDepth: number;
}

/**
 * Builds the Fastify instance of the HTTP API: schema validation (typebox schemas, ajv without
 * type coercion), API-key auth, a rate limit, the OpenAPI document and the server's error shape.
 * It never listens itself: the room server hands it the requests under `/api`.
 */
export function buildApiApp(options: ApiAppOptions): FastifyInstance {
  const { api, logger } = options;
  const app = fastify({
    logger: false,
    bodyLimit: api.maxBodyBytes,
    // Room ids may be 128 characters (longer ones get invalid_room_id, not Fastify's 414).
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: true },
    // The room server answers 503 itself while stopping.
    return503OnClosing: false,
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: false,
      },
    },
    schemaErrorFormatter: formatSchemaError,
    // Errors found before routing (bad percent-encoding, an overlong room id) in the same shape.
    frameworkErrors: (error, request, reply) =>
      sendError(error, request, reply, logger, api.maxBodyBytes),
  });
  // JSON only: a text/plain body is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  // Response schemas document the answers; plain JSON.stringify writes them (nothing dropped).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app, logger, api.maxBodyBytes);
  registerOpenApi(app);
  app.addSchema(ErrorBody);

  const auth = new ApiAuth(api, logger, options.authTimeoutMs);
  const limit = api.rateLimit;
  if (limit) {
    app.register(rateLimit, {
      global: false,
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: (request) => auth.rateLimitKey(request),
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          429,
          ApiErrorCode.RateLimited,
          `rate limit exceeded (${context.max} requests per ${limit.timeWindowMs} ms): retry in ${context.after}`,
        ),
    });
  }
  app.register(async (scope) => {
    if (limit) scope.addHook('onRequest', scope.rateLimit());
    await openApiRoute(scope);
    await scope.register(async (authenticated) => {
      authenticated.addHook('onRequest', async (request) => auth.check(request));
      await roomRoutes(authenticated, {
        liveRooms: options.liveRooms,
        maxDepth: options.maxDepth,
      });
    });
  });
  return app;
}

/**
 * The HTTP API as the room server mounts it on its own `http.Server`: `handle` takes the requests
 * under `/api` (Fastify routes them once ready), `ready()` before listening, `close()` when
 * stopping.
 */
export class HttpApi {
  readonly app: FastifyInstance;
  private booting: Promise<void> | null = null;
  private booted = false;
  private closing = false;

  constructor(private readonly options: ApiAppOptions) {
    this.app = buildApiApp(options);
  }

  /** Loads the plugins and compiles the routes (once). */
  ready(): Promise<void> {
    if (!this.booting) {
      this.booting = Promise.resolve(this.app.ready()).then(() => {
        this.booted = true;
      });
    }
    return this.booting;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.closing) {
      json(res, 503, errorBody('shutting_down', 'server is shutting down'));
      return;
    }
    if (this.booted) {
      this.app.routing(req, res);
      return;
    }
    this.ready().then(
      () => this.app.routing(req, res),
      (error: unknown) => {
        this.options.logger.error({ err: error }, 'HTTP API failed to start');
        json(res, 500, errorBody(ApiErrorCode.InternalError, 'internal server error'));
      },
    );
  };

  async close(): Promise<void> {
    this.closing = true;
    if (!this.booting) return;
    await this.booting.catch(() => {});
    await this.app.close();
  }
}
