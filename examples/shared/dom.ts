/** Just enough DOM building for the examples, instead of a framework. */

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown> & { style?: Partial<CSSStyleDeclaration> };

/**
 * `h('button', { class: 'tool', onclick: fn }, 'Pen')`. `on*` props become listeners, `style`
 * is assigned property by property, other props are attributes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (key === 'style') Object.assign(element.style, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value as EventListener);
    } else if (value !== undefined && value !== false) {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces `parent`'s children (for small lists re-rendered from a signal). */
export function render(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Keyed list rendering: one element per key, created once and updated in place, so moving
 * items (cursors) keep their node and CSS transitions.
 */
export function renderKeyed<T>(
  parent: Element,
  items: readonly T[],
  key: (item: T) => string,
  create: (item: T) => HTMLElement,
  update: (element: HTMLElement, item: T) => void,
): void {
  const existing = new Map<string, HTMLElement>();
  for (const child of Array.from(parent.children)) {
    const id = (child as HTMLElement).dataset.key;
    if (id !== undefined) existing.set(id, child as HTMLElement);
  }
  for (const item of items) {
    const id = key(item);
    let element = existing.get(id);
    existing.delete(id);
    if (!element) {
      element = create(item);
      element.dataset.key = id;
      parent.append(element);
    }
    update(element, item);
  }
  for (const stale of existing.values()) stale.remove();
}
