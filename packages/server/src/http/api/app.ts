import type { IncomingMessage, ServerResponse } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import { type FastifyInstance, fastify } from 'fastify';
import type { JwtAuth } from '../../auth/jwt.js';
import type { Logger } from '../../observability/logger.js';
import type { SpacesHub } from '../../spaces/spaces-hub.js';
import { json } from '../requests.js';
import type { RateLimitSettings, ResolvedApiConfig } from './api-config.js';
import { ApiAuth } from './auth.js';
import {
  ApiErrorCode,
  ErrorBody,
  errorBody,
  formatSchemaError,
  installErrorHandlers,
  sendError,
} from './errors.js';
import { guestRoute } from './guest-route.js';
import { docsRoutes, openApiRoute, registerOpenApi } from './openapi.js';
import { type LiveRoomsApi, roomRoutes } from './rooms.js';
import { spacesRoutes } from './spaces-routes.js';
import { SPACES_SCHEMAS } from './spaces-schemas.js';
import { limitScope, UserAuth, userOf } from './user-auth.js';

export interface ApiAppOptions {
  api: ResolvedApiConfig;
  /** The live room manager (`server.liveRooms`). */
  liveRooms: LiveRoomsApi;
  logger: Logger;
  /** Time `api.authorize` has to answer (the server's `limits.authTimeoutMs`). */
  authTimeoutMs: number;
  /** Deepest nesting of an emitted event's `data` (the server's `limits.maxDepth`). */
  maxDepth: number;
  /** The Spaces hub, or null when Spaces is off (its routes then answer 404). */
  spaces: SpacesHub | null;
  /** Verifies the users' JWTs of the Spaces routes; null: those routes answer 401. */
  jwt: JwtAuth | null;
  /** Spaces requests per user (and guest sign-ins per address) per window; null for none. */
  spacesRateLimit: RateLimitSettings | null;
}

/**
 * Builds the Fastify instance of the HTTP API: schema validation (typebox schemas, ajv without
 * type coercion), API-key auth for the live-room routes, JWT auth for the Spaces routes, rate
 * limits, the OpenAPI document and its browsable page, and the server's error shape.
 * It never listens itself: the room server hands it the requests under `/api`.
 */
function buildApiApp(options: ApiAppOptions): FastifyInstance {
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
  for (const schema of SPACES_SCHEMAS) app.addSchema(schema);

  const auth = new ApiAuth(api, logger, options.authTimeoutMs);
  const limit = api.rateLimit;
  // No global limit: each scope below adds its own limiter as a hook. The plugin runs only the
  // first limiter a request meets, so the scopes are siblings, never nested in a limited one.
  app.register(rateLimit, { global: false });
  // Live-room routes and the public documents: one budget per API key, else per address.
  app.register(async (scope) => {
    if (limit) limitScope(scope, limit, '', (request) => auth.rateLimitKey(request));
    await openApiRoute(scope);
    await docsRoutes(scope);
    await scope.register(async (authenticated) => {
      authenticated.addHook('onRequest', async (request) => auth.check(request));
      await roomRoutes(authenticated, {
        liveRooms: options.liveRooms,
        maxDepth: options.maxDepth,
      });
    });
  });
  // Spaces: a user's JWT, then that user's budget (requests with a bad token are not counted).
  const users = new UserAuth(options.spaces, options.jwt, logger);
  const spacesLimit = options.spacesRateLimit;
  app.register(async (scope) => {
    scope.addHook('onRequest', users.hook);
    if (spacesLimit) limitScope(scope, spacesLimit, 'user', (r) => `user:${userOf(r).id}`);
    await spacesRoutes(scope, { auth: users, maxDepth: options.maxDepth });
  });
  // Guest sign-in has no user yet: the same budget per client address.
  const { jwt } = options;
  if (jwt?.guestEnabled) {
    app.register(async (scope) => {
      if (spacesLimit) limitScope(scope, spacesLimit, 'address', (r) => `ip:${r.ip}`);
      await guestRoute(scope, jwt);
    });
  }
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
      json(res, 503, errorBody(ApiErrorCode.ShuttingDown, 'server is shutting down'));
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
