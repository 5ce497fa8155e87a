import { ErrorCode } from '@roomkit/protocol';
import {
  type Feature,
  type HandlerReply,
  onSessionMessage,
  ProtocolError,
} from '../features/feature.js';
import type { ClientSession } from '../rooms/connection.js';
import { identityFromJwt } from './identity.js';
import { type JwtAuth, JwtError } from './jwt.js';

/**
 * `room:authenticate {token}`: signs a connection in with a JWT after it connected (when its
 * upgrade carried none), answered `room:authenticated {user}`. On whenever `jwt` is configured.
 */
export class AuthenticateFeature implements Feature {
  readonly name = 'authenticate';

  readonly handlers = [
    onSessionMessage('room:authenticate', (message, session) =>
      this.authenticate(session, message.token),
    ),
  ];

  constructor(private readonly jwt: JwtAuth) {}

  private async authenticate(session: ClientSession, token: string): Promise<HandlerReply> {
    let user: Awaited<ReturnType<JwtAuth['verify']>>;
    try {
      user = await this.jwt.verify(token);
    } catch (error) {
      if (error instanceof JwtError) throw new ProtocolError(ErrorCode.Unauthorized, error.message);
      throw error;
    }
    const { identity } = session;
    if (identity.verified) {
      // Already signed in (a token, or the auth handler, which may have set readOnly or metadata):
      // the identity stays as it is; another user's token is refused.
      if (user.id !== identity.userId) {
        throw new ProtocolError(
          ErrorCode.Forbidden,
          'this connection is already signed in as another user',
        );
      }
      return { type: 'room:authenticated', user: { ...user, displayName: identity.displayName } };
    }
    // The connection's rooms were granted to its current (query-string) user.
    if (user.id !== identity.userId && session.memberships.size > 0) {
      throw new ProtocolError(
        ErrorCode.Forbidden,
        'send room:authenticate before joining rooms (this connection is in rooms as another user)',
      );
    }
    session.identity = identityFromJwt(user);
    return { type: 'room:authenticated', user };
  }
}
