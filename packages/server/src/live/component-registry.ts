import { MAX_COMPONENT_NAME_LENGTH } from '@roomkit/protocol';
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { LiveComponent, type LiveComponentOptions, type LiveConnection } from './live-component.js';

/** A component class the server can mount: a subclass of `LiveComponent`. */
export interface LiveComponentClass<C extends LiveComponent = LiveComponent> {
  new (initialState: never, connection: LiveConnection, options?: LiveComponentOptions): C;
  readonly prototype: C;
  readonly name: string;
  defaultState?: Record<string, unknown>;
  actions?: readonly string[];
}

export interface RegisterComponentOptions {
  /** The name clients mount it by. Default: the class name (give one if your build minifies). */
  name?: string;
  /** A TypeBox schema per action for its payload, checked before the action runs (`invalid_payload`). */
  actions?: Record<string, TSchema>;
}

export type ActionFunction = (this: LiveComponent, payload: unknown) => unknown;

export interface RegisteredAction {
  readonly name: string;
  readonly fn: ActionFunction;
  /** The payload schema, compiled once; null: any payload. */
  readonly check: TypeCheck<TSchema> | null;
}

export interface RegisteredComponent {
  readonly name: string;
  readonly Class: LiveComponentClass;
  readonly actions: ReadonlyMap<string, RegisteredAction>;
}

/** Names no subclass method may take as an action: the base class's and `Object`'s. */
const RESERVED: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(LiveComponent.prototype),
  ...Object.getOwnPropertyNames(Object.prototype),
]);

function isAsyncFunction(value: unknown): value is ActionFunction {
  return Object.prototype.toString.call(value) === '[object AsyncFunction]';
}

/** The methods on the class's prototype chain below `LiveComponent`, most derived first. */
function ownMethods(Class: LiveComponentClass): Map<string, unknown> {
  const methods = new Map<string, unknown>();
  const seen = new Set<string>();
  for (
    let proto: object | null = Class.prototype;
    proto !== null && proto !== LiveComponent.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (seen.has(name)) continue;
      seen.add(name);
      if (name === 'constructor' || RESERVED.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;
      // Getters and setters are never actions.
      if ('value' in descriptor && typeof descriptor.value === 'function') {
        methods.set(name, descriptor.value);
      }
    }
  }
  return methods;
}

/**
 * The actions a client may call: the class's `static actions` if it declares them, else its
 * `async` methods below `LiveComponent` whose names do not start with `_` (`#private` methods are
 * never visible). Never the constructor, a getter, or a method of `LiveComponent` or `Object`.
 */
function discoverActions(Class: LiveComponentClass): Map<string, ActionFunction> {
  const methods = ownMethods(Class);
  const actions = new Map<string, ActionFunction>();
  const declared = Class.actions;
  if (declared !== undefined) {
    if (!Array.isArray(declared)) {
      throw new TypeError(`${Class.name}: static actions must be an array of method names`);
    }
    for (const name of declared) {
      const fn = typeof name === 'string' ? methods.get(name) : undefined;
      if (fn === undefined) {
        throw new TypeError(
          `${Class.name}: static actions names ${JSON.stringify(name)}, which is not a method of the class (nor may it be the constructor or a LiveComponent method)`,
        );
      }
      actions.set(name, fn as ActionFunction);
    }
    return actions;
  }
  for (const [name, fn] of methods) {
    if (!name.startsWith('_') && isAsyncFunction(fn)) actions.set(name, fn);
  }
  return actions;
}

/** `sendMessage: field "text": Expected string` — the first schema error, naming the field. */
export function describePayloadError(action: RegisteredAction, payload: unknown): string {
  const first = action.check?.Errors(payload).First();
  if (!first) return `${action.name}: invalid payload`;
  const field =
    first.path === '' ? 'payload' : `field "${first.path.slice(1).replace(/\//g, '.')}"`;
  return `${action.name}: ${field}: ${first.message}`;
}

/** The components the server can mount, by name, with their actions worked out once. */
export class ComponentRegistry {
  private readonly components = new Map<string, RegisteredComponent>();

  /**
   * Registers a component class. Throws a `TypeError` if it is not a `LiveComponent` subclass,
   * the name is not 1-128 characters, `static actions` or a schema names a non-action, and an
   * `Error` if the name is taken.
   */
  register(Class: LiveComponentClass, options: RegisterComponentOptions = {}): RegisteredComponent {
    if (typeof Class !== 'function' || !(Class.prototype instanceof LiveComponent)) {
      throw new TypeError('registerComponent: expected a class that extends LiveComponent');
    }
    const name = options.name ?? Class.name;
    if (typeof name !== 'string' || name === '' || name.length > MAX_COMPONENT_NAME_LENGTH) {
      throw new TypeError(
        `registerComponent: the component name must be 1-${MAX_COMPONENT_NAME_LENGTH} characters, got ${JSON.stringify(name)}`,
      );
    }
    if (this.components.has(name)) {
      throw new Error(`registerComponent: a component named "${name}" is already registered`);
    }
    const schemas = options.actions ?? {};
    const actions = new Map<string, RegisteredAction>();
    for (const [actionName, fn] of discoverActions(Class)) {
      const schema = Object.hasOwn(schemas, actionName) ? schemas[actionName] : undefined;
      const check = schema === undefined ? null : TypeCompiler.Compile(schema);
      actions.set(actionName, { name: actionName, fn, check });
    }
    for (const actionName of Object.keys(schemas)) {
      if (!actions.has(actionName)) {
        throw new TypeError(
          `registerComponent: a schema is given for "${actionName}", which is not an action of ${name}`,
        );
      }
    }
    const registered: RegisteredComponent = { name, Class, actions };
    this.components.set(name, registered);
    return registered;
  }

  get(name: string): RegisteredComponent | undefined {
    return this.components.get(name);
  }
}
