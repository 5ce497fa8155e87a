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
    // The connection's rooms (and a signed-in identity) were granted to its current user.
    if (user.id !== identity.userId && (identity.verified || session.memberships.size > 0)) {
      throw new ProtocolError(
        ErrorCode.Forbidden,
        identity.verified
          ? 'this connection is already signed in as another user'
          : 'send room:authenticate before joining rooms (this connection is in rooms as another user)',
      );
    }
    session.identity = identityFromJwt(user);
    return { type: 'room:authenticated', user };
  }
}
