import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/** Where the OpenAPI description is served (public: no API key needed). */
export const OPENAPI_PATH = '/api/openapi.json';

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
        description:
          'Push messages and events into live rooms from external systems (webhooks, bots, cron jobs). ' +
          'Every route but this document needs an API key, sent as `Authorization: Bearer <key>` or ' +
          '`X-API-Key: <key>`. Errors are `{"error":{"code","message"}}`.',
      },
      tags: [
        { name: 'rooms', description: 'Live rooms' },
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
        },
      },
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
