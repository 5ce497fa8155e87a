import type { FastifyInstance } from 'fastify';
import type { JwtAuth } from '../../auth/jwt.js';
import { ApiError, ApiErrorCode } from './errors.js';
import { GuestAnswer, GuestBody, spacesErrors } from './spaces-schemas.js';

export const GUEST_PATH = '/api/auth/guest';

/**
 * `POST /api/auth/guest`: a guest token for a display name (dev-mode sign-in). Registered only
 * when `jwt.guest` is on: otherwise the path is the API's plain 404, and the OpenAPI document
 * does not list it.
 */
export async function guestRoute(app: FastifyInstance, jwt: JwtAuth): Promise<void> {
  app.post<{ Body: GuestBody }>(
    GUEST_PATH,
    {
      schema: {
        operationId: 'guestSignIn',
        tags: ['auth'],
        security: [],
        summary: 'Sign in as a guest',
        description:
          'Only on servers started with `jwt.guest`. The token is a JWT for the Spaces routes and `room:authenticate`; it expires (24 h by default).',
        body: GuestBody,
        response: { 200: GuestAnswer, ...spacesErrors(400, 413, 415, 429) },
      },
    },
    async (request) => {
      try {
        const { token, user } = await jwt.issueGuest(request.body.displayName);
        return { success: true as const, token, user };
      } catch (error) {
        // issueGuest refuses a display name that is empty or too long once trimmed.
        if (error instanceof RangeError) {
          throw new ApiError(400, ApiErrorCode.BadRequest, error.message);
        }
        throw error;
      }
    },
  );
}
