import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/** Where the OpenAPI description is served (public: no API key needed). */
export const OPENAPI_PATH = '/api/openapi.json';
/** The browsable page of the description (Swagger UI; public). */
export const DOCS_PATH = '/api/docs';

/** The version of the API this document describes (not the package's). */
export const API_VERSION = '1.0.0';

/**
 * Collects the routes registered after it into an OpenAPI 3.1 document (the routes' typebox
 * schemas are JSON Schema). Call it on the root instance, before the routes are registered.
 */
export function registerOpenApi(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Roomkit HTTP API',
        version: API_VERSION,
        description: [
          "Two APIs on the room server's port, with two kinds of credentials:",
          '',
          '- **Live rooms** (tag `rooms`): external systems (webhooks, bots, cron jobs) push messages and ' +
            "events into live rooms. They need an **API key** (the server's `--api-key`), sent as " +
            '`Authorization: Bearer <key>` or `X-API-Key: <key>`.',
          '- **Spaces** (tag `spaces`): persistent rooms with codes, hosts, seats and messages, for your ' +
            "users. They need the **user's JWT** (`Authorization: Bearer <jwt>`), checked against the " +
            "server's `jwt` config; dev servers with `jwt.guest` hand out guest tokens at " +
            '`POST /api/auth/guest` (tag `auth`).',
          '',
          'This document and its page (`/api/docs`) are public. Errors are ' +
            '`{"success":false,"error":{"code","message"}}`.',
        ].join('\n'),
      },
      tags: [
        { name: 'rooms', description: 'Live rooms (API key)' },
        { name: 'spaces', description: 'Spaces rooms (user JWT)' },
        { name: 'auth', description: 'Signing in' },
        { name: 'meta', description: 'About this API' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key given to the server with --api-key (or api.keys).',
          },
          apiKeyHeader: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'The same API key, in a header of its own.',
          },
          userBearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              "A user's JWT (HS256 with jwt.secret, or a key of jwt.jwksUrl): `sub` is the user id, `name` the display name.",
          },
        },
      },
      // The default: the live-room routes. Spaces routes and the public ones say their own.
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    },
    // Shared schemas (the error body) keep their own names in components.schemas.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
}

/** `GET /api/openapi.json`: the document, built once on first request. */
export async function openApiRoute(app: FastifyInstance): Promise<void> {
  let document: string | null = null;
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        operationId: 'openapi',
        tags: ['meta'],
        summary: 'This OpenAPI description',
        security: [],
        response: {
          200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3.1' }),
        },
      },
    },
    async (_request, reply) => {
      document ??= JSON.stringify(app.swagger());
      return reply.type('application/json').send(document);
    },
  );
}

/**
 * `GET /api/docs`: Swagger UI over this document, with its static assets under
 * `/api/docs/static/` (all hidden from the document itself).
 */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    uiConfig: { deepLinking: true, docExpansion: 'list', tryItOutEnabled: false },
    theme: { title: 'Roomkit HTTP API' },
  });
}
