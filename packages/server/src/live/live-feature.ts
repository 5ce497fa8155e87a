import {
  ErrorCode,
  type LiveCallMessage,
  type LiveMountMessage,
  type LiveUnmountMessage,
} from '@roomkit/protocol';
import {
  type Feature,
  type FeatureContext,
  type HandlerOutcome,
  type HandlerReply,
  LaterReply,
  onSessionMessage,
  ProtocolError,
} from '../features/feature.js';
import { catchAll } from '../hooks.js';
import type { ClientSession } from '../rooms/connection.js';
import { type CancelCall, checkJson, invoke, isThenable, messageOf, settle } from './calls.js';
import {
  type ComponentRegistry,
  describePayloadError,
  type RegisteredAction,
  type RegisteredComponent,
} from './component-registry.js';
import {
  bindRuntime,
  type ComponentCore,
  coreOf,
  type LiveComponent,
  type LiveRuntime,
} from './live-component.js';
import { FlushQueue, LiveLink } from './live-link.js';
import type { LiveRoomManager } from './live-room-manager.js';

/** A component mounted on a connection. */
interface Mounted {
  readonly component: LiveComponent;
  readonly core: ComponentCore;
  readonly link: LiveLink;
  readonly session: ClientSession;
  readonly registered: RegisteredComponent;
  /** Actions still running: settled with an error if the component goes first. */
  readonly calls: Set<CancelCall>;
  disposed: boolean;
}

/**
 * Live components (docs/live.md): `live:mount`, `live:call`, `live:unmount`, a table of mounted
 * components per connection, and the end-of-turn flush of their state changes. A connection's
 * components are unmounted when it closes.
 */
export class LiveFeature implements Feature {
  readonly name = 'live';

  readonly handlers = [
    onSessionMessage('live:mount', (message, session) => this.mount(message, session)),
    onSessionMessage('live:call', (message, session) => this.call(message, session)),
    onSessionMessage('live:unmount', (message, session) => this.unmountByClient(message, session)),
  ];

  /** Each connection's components, by id; a connection without components has no entry. */
  private readonly bySession = new Map<ClientSession, Map<string, Mounted>>();
  private readonly byId = new Map<string, Mounted>();
  private readonly flushQueue: FlushQueue;
  private readonly runtime: LiveRuntime;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly registry: ComponentRegistry,
    private readonly rooms: LiveRoomManager,
  ) {
    this.flushQueue = new FlushQueue(ctx.logger);
    this.runtime = {
      rooms,
      maxRoomsPerComponent: ctx.config.limits.maxRoomsPerConnection,
      schedule: (core) => this.flushQueue.add(core),
      created: (connection, core) => {
        if (connection instanceof LiveLink) connection.core ??= core;
      },
    };
    rooms.onMembershipChange((componentId) => this.byId.get(componentId)?.core.roomsChanged());
  }

  /** Components mounted now, on all connections. */
  get componentCount(): number {
    return this.byId.size;
  }

  /** Connections with at least one component mounted. */
  get connectionCount(): number {
    return this.bySession.size;
  }

  /** Unmounts every component of a connection that ended. */
  closeSession(session: ClientSession): void {
    const table = this.bySession.get(session);
    if (!table) return;
    for (const mounted of [...table.values()]) this.dispose(mounted, 'disconnected', false);
  }

  /** Unmounts a component from server code; its client gets `live:unmounted`. */
  unmount(componentId: string, reason: string): boolean {
    const mounted = this.byId.get(componentId);
    if (!mounted) return false;
    this.dispose(mounted, reason, true);
    return true;
  }

  private mount(message: LiveMountMessage, session: ClientSession): HandlerOutcome {
    const registered = this.registry.get(message.component);
    if (!registered) {
      throw new ProtocolError(
        ErrorCode.UnknownComponent,
        `no live component "${message.component}" is registered`,
      );
    }
    const limit = this.ctx.config.limits.maxComponentsPerConnection;
    if ((this.bySession.get(session)?.size ?? 0) >= limit) {
      throw new ProtocolError(
        ErrorCode.TooManyComponents,
        `this connection already has ${limit} live components mounted`,
      );
    }
    const link = new LiveLink(session, this.ctx.logger);
    bindRuntime(link, this.runtime);
    let component: LiveComponent;
    try {
      component = new registered.Class(
        (message.initialState ?? {}) as never,
        link,
        message.room === undefined
          ? { userId: session.identity.userId }
          : { room: message.room, userId: session.identity.userId },
      );
    } catch (error) {
      // Whatever it did before throwing (rooms joined, handlers added) goes with it.
      if (link.core) this.rooms.cleanupComponent(link.core.id);
      link.close();
      throw this.failed(registered, 'constructor', error);
    }
    const mounted: Mounted = {
      component,
      core: coreOf(component),
      link,
      session,
      registered,
      calls: new Set(),
      disposed: false,
    };
    let table = this.bySession.get(session);
    if (!table) {
      table = new Map();
      this.bySession.set(session, table);
    }
    table.set(component.id, mounted);
    this.byId.set(component.id, mounted);
    let started: unknown;
    try {
      if (message.room !== undefined) component.$room.join();
      started = component.onMount();
    } catch (error) {
      this.dispose(mounted, 'mount failed', false);
      throw this.failed(registered, 'onMount', error);
    }
    if (!isThenable(started)) return this.mountedReply(mounted);
    return new LaterReply(
      this.settle(mounted, 'onMount', Promise.resolve(started)).then(
        () => this.mountedReply(mounted),
        (error: unknown) => {
          this.dispose(mounted, 'mount failed', false);
          throw error;
        },
      ),
    );
  }

  private mountedReply(mounted: Mounted): HandlerReply {
    const { component, core, link, registered } = mounted;
    if (mounted.disposed) {
      throw new ProtocolError(ErrorCode.ActionFailed, 'the component was unmounted while mounting');
    }
    try {
      checkJson(component.state, `${registered.name}'s state`);
    } catch (error) {
      this.dispose(mounted, 'mount failed', false);
      throw error;
    }
    core.start();
    // After the dispatcher has sent this reply: what waited (room states) follows it.
    setImmediate(() => link.open());
    return {
      type: 'live:mounted',
      componentId: component.id,
      component: registered.name,
      state: component.state,
      rooms: component.$rooms,
    };
  }

  /** The component `componentId` this connection mounted, or `unknown_component`. */
  private mountedOn(session: ClientSession, componentId: string): Mounted {
    const mounted = this.bySession.get(session)?.get(componentId);
    if (!mounted) {
      throw new ProtocolError(
        ErrorCode.UnknownComponent,
        `no live component "${componentId}" is mounted on this connection`,
      );
    }
    return mounted;
  }

  private call(message: LiveCallMessage, session: ClientSession): HandlerOutcome {
    const mounted = this.mountedOn(session, message.componentId);
    const { registered } = mounted;
    const action = registered.actions.get(message.action);
    if (!action) {
      throw new ProtocolError(
        ErrorCode.UnknownAction,
        `"${message.action}" is not an action of ${registered.name}`,
      );
    }
    if (action.check && !action.check.Check(message.payload)) {
      throw new ProtocolError(
        ErrorCode.InvalidPayload,
        describePayloadError(action, message.payload),
      );
    }
    return new LaterReply(this.run(mounted, action, message.payload));
  }

  private async run(
    mounted: Mounted,
    action: RegisteredAction,
    payload: unknown,
  ): Promise<HandlerReply> {
    const outcome = invoke(() => action.fn.call(mounted.component, payload));
    try {
      const value = await this.settle(mounted, action.name, outcome);
      const result = value === undefined ? null : value;
      checkJson(result, `the result of ${action.name}`);
      return {
        type: 'live:result',
        componentId: mounted.component.id,
        action: action.name,
        result,
      };
    } finally {
      // The state the action set goes out before its answer.
      mounted.core.flush();
    }
  }

  /** Waits for an action (or async `onMount`) within `limits.actionTimeoutMs`. */
  private settle(mounted: Mounted, what: string, outcome: Promise<unknown>): Promise<unknown> {
    const { registered } = mounted;
    return settle(outcome, {
      timeoutMs: this.ctx.config.limits.actionTimeoutMs,
      label: `${registered.name}.${what}`,
      running: mounted.calls,
      failed: (error) => this.failed(registered, what, error),
    });
  }

  private unmountByClient(message: LiveUnmountMessage, session: ClientSession): HandlerOutcome {
    const mounted = this.mountedOn(session, message.componentId);
    this.dispose(mounted, 'unmounted by the client', false);
    return undefined;
  }

  /** `action_failed` with the error's message; logged at debug (an action refusing is normal). */
  private failed(registered: RegisteredComponent, what: string, error: unknown): ProtocolError {
    if (error instanceof ProtocolError) return error;
    this.ctx.logger.debug(
      { err: error, component: registered.name, action: what },
      'live action failed',
    );
    return new ProtocolError(ErrorCode.ActionFailed, messageOf(error));
  }

  /**
   * Unmounts: `onUnmount` (while still in its rooms), then out of every room with every handler
   * dropped, running actions answered, and no more frames. `notify`: tell the client.
   */
  private dispose(mounted: Mounted, reason: string, notify: boolean): void {
    if (mounted.disposed) return;
    mounted.disposed = true;
    const { component, core, link, session } = mounted;
    const table = this.bySession.get(session);
    table?.delete(component.id);
    if (table?.size === 0) this.bySession.delete(session);
    this.byId.delete(component.id);
    catchAll(
      () => component.onUnmount(),
      (error) => this.logUnmountError(mounted, error),
    );
    core.unmounted = true;
    this.flushQueue.delete(core);
    this.rooms.cleanupComponent(component.id);
    for (const cancel of [...mounted.calls]) cancel(reason);
    if (notify) {
      link.open();
      link.send({ type: 'live:unmounted', componentId: component.id, reason });
    }
    link.close();
  }

  private logUnmountError(mounted: Mounted, error: unknown): void {
    this.ctx.logger.warn(
      { err: error, component: mounted.registered.name, componentId: mounted.component.id },
      'live component onUnmount failed',
    );
  }
}
