/**
 * A multiplayer whiteboard, rendered with plain DOM updates inside `effect(...)` (no JSX), with
 * its drawing: strokes stream to the others point by point on the `drawing` channel while they
 * are drawn, and each finished stroke is committed to the room's shared state, so late joiners
 * (and reloads) see the whole board.
 */
import {
  type BroadcastChannel,
  effect,
  memo,
  type Presence,
  RoomkitError,
  type SharedState,
  signal,
  useBroadcast,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  WebSocketClient,
} from '@roomkit/client';
import { h, render, renderKeyed } from '../shared/dom.js';
import { exampleSession } from '../shared/session.js';

interface Point {
  x: number;
  y: number;
}

type Tool = 'pen' | 'eraser';

interface Stroke {
  id: string;
  userId: string;
  color: string;
  points: Point[];
  // Which tool drew it (the eraser erases), when it was started (strokes are
  // drawn in that order), and the board generation it belongs to (Clear starts a new one).
  tool: Tool;
  startedAt: number;
  generation: number;
}

/**
 * Why not `strokes: Stroke[]` under one key: shared state is last-writer-wins per key, so two
 * people finishing a stroke at the same moment would each overwrite the other's array. Here
 * every stroke is its own key and concurrent strokes never conflict. Keys are per-user slots,
 * `stroke:<userId>:<n>`, numbered from 0 again after each Clear, so a board that is cleared now
 * and then stays within the server's limit on state keys (1000 per room by default).
 */
interface WhiteboardState {
  background: string;
  /** Strokes of other generations are hidden: Clear is one write, whatever the board holds. */
  generation: number;
  [stroke: `stroke:${string}`]: Stroke;
}

/** A stroke longer than this is committed and continued as a new one (messages are capped). */
const MAX_POINTS = 400;
const PEN_WIDTH = 3;
const ERASER_WIDTH = 24;

function Whiteboard({ roomId }: { roomId: string }): HTMLElement {
  // The server URL and the user come from the page's query (see ../shared/session.ts).
  const { serverUrl, user } = exampleSession(roomId);
  /** What the status bar reports besides the connection (a refused stroke). */
  const problem = signal<string | null>(null);
  const client = new WebSocketClient({
    url: serverUrl,
    // Who we are to the server: presence, cursors and every `from` use this id.
    params: { userId: user.id, displayName: user.name },
    onError: (error) => {
      console.warn('[roomkit]', error.message);
      if (error instanceof RoomkitError && error.code === 'state_limit') {
        problem.set('The board is full (server state limit): clear it to draw more.');
      }
    },
  });

  // Connect on mount
  effect(() => {
    client.connect();
    return () => client.disconnect();
  });

  // Presence for user list
  const presence = usePresence<{ tool: Tool }>({
    client,
    room: roomId,
    user,
    initialData: { tool: 'pen' },
  });

  // Cursors for live positions
  const { cursors, broadcast: broadcastCursor } = useCursors({
    client,
    room: roomId,
    user,
  });

  // Room management
  const room = useRoom({
    client,
    roomId,
    user,
  });

  // Shared whiteboard state
  const whiteboard = useSharedState<WhiteboardState>({
    client,
    room: roomId,
    initialState: { background: '#ffffff', generation: 0 },
  });

  // Drawing broadcast
  const drawing = useBroadcast<{ strokeId: string; point: Point }>({
    client,
    room: roomId,
    channel: 'drawing',
  });

  // Handle mouse movement
  const handleMouseMove = (e: MouseEvent) => {
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    broadcastCursor(e.clientX - rect.left, e.clientY - rect.top);
  };

  // Join room on mount
  effect(() => {
    room.join();
    return () => room.leave();
  });

  // ---- rendering (as DOM) ----

  const usersList = h('div');
  const usersPanel = h('aside', { class: 'users-panel' }, usersList);
  effect(() => {
    const me = presence.myPresence();
    render(
      usersList,
      h('h3', null, `Online (${presence.count()})`),
      h(
        'div',
        { class: 'user me' },
        h('span', { style: { color: user.color } }, `${user.name} (you)`),
        h('small', null, `Tool: ${me.tool}`),
      ),
      ...presence
        .others()
        .map((other) =>
          h(
            'div',
            { class: 'user', 'data-user': other.user.id },
            h(
              'span',
              { style: { color: other.user.color ?? '' } },
              other.user.name ?? other.user.id,
            ),
            h('small', null, `Tool: ${other.data.tool ?? '?'}`),
          ),
        ),
    );
  });

  const canvas = h('canvas', { class: 'whiteboard-canvas', onmousemove: handleMouseMove });
  effect(() => {
    canvas.style.background = whiteboard.get('background');
  });

  const cursorLayer = h('div', { class: 'cursor-layer' });
  effect(() => {
    renderKeyed(
      cursorLayer,
      cursors(),
      (cursor) => cursor.user.id,
      () => h('div', { class: 'remote-cursor' }),
      (element, cursor) => {
        element.textContent = cursor.user.name ?? cursor.user.id;
        element.style.left = `${cursor.x}px`;
        element.style.top = `${cursor.y}px`;
        element.style.backgroundColor = cursor.user.color ?? '#333';
      },
    );
  });

  const toolButton = (tool: Tool, label: string) => {
    const button = h('button', { onclick: () => presence.updatePresence({ tool }) }, label);
    effect(() => button.classList.toggle('active', presence.myPresence().tool === tool));
    return button;
  };
  const colorInput = h('input', {
    type: 'color',
    title: 'Background',
    onchange: (e: Event) => whiteboard.set('background', (e.target as HTMLInputElement).value),
  });
  effect(() => {
    colorInput.value = whiteboard.get('background');
  });
  const clearButton = h(
    'button',
    { onclick: () => whiteboard.set('generation', whiteboard.get('generation') + 1) },
    'Clear',
  );
  const status = h('span', { class: 'status' });
  effect(() => {
    const error = room.error() ? `Cannot join: ${room.error()?.message}` : problem();
    status.textContent = error ?? client.status();
    status.dataset.status = error ? 'error' : client.status();
  });
  // A new board generation has free slots again. (The memo changes only with the generation,
  // not with every stroke, as the whole state does.)
  const generation = memo(() => whiteboard.get('generation'));
  effect(() => {
    generation();
    problem.set(null);
  });

  const board = drawingSurface(canvas, { presence, whiteboard, drawing, user });
  return h(
    'div',
    { class: 'whiteboard-container' },
    usersPanel,
    h('main', { class: 'board' }, board, cursorLayer),
    h(
      'footer',
      { class: 'toolbar' },
      toolButton('pen', 'Pen'),
      toolButton('eraser', 'Eraser'),
      h('label', null, 'Background ', colorInput),
      clearButton,
      status,
    ),
  );
}

interface Surface {
  presence: Presence<{ tool: Tool }>;
  whiteboard: SharedState<WhiteboardState>;
  drawing: BroadcastChannel<{ strokeId: string; point: Point }>;
  user: { id: string; color: string };
}

/** Pointer input, the strokes being drawn (mine and the others'), and painting the canvas. */
function drawingSurface(canvas: HTMLCanvasElement, surface: Surface): HTMLCanvasElement {
  const { presence, whiteboard, drawing, user } = surface;
  const context = canvas.getContext('2d')!;
  let current: Stroke | null = null;
  /** Others' strokes in progress, from the `drawing` channel, until they are committed. */
  const live = new Map<string, { userId: string; points: Point[]; lastPointAt: number }>();

  const strokes = memo(() => {
    const state = whiteboard.state();
    const result: Stroke[] = [];
    for (const [key, value] of Object.entries(state)) {
      if (!key.startsWith('stroke:') || typeof value !== 'object' || value === null) continue;
      const stroke = value as Stroke;
      if (stroke.generation === state.generation) result.push(stroke);
    }
    return result.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  });

  /** One paint per animation frame, however many points and updates arrive in between. */
  let framePending = false;
  const requestDraw = () => {
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(() => {
      framePending = false;
      paint();
    });
  };
  const paint = () => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    for (const stroke of strokes.peek()) paintStroke(stroke.points, stroke.color, stroke.tool);
    const others = presence.others.peek();
    for (const stroke of live.values()) {
      const author = others.find((other) => other.user.id === stroke.userId);
      if (!author) continue;
      paintStroke(stroke.points, author.user.color ?? '#333', author.data.tool ?? 'pen');
    }
    if (current) paintStroke(current.points, current.color, current.tool);
  };
  const paintStroke = (points: Point[], color: string, tool: Tool) => {
    const [first, ...rest] = points;
    if (!first) return;
    // The eraser cuts through the ink to the canvas's CSS background (the board color).
    context.globalCompositeOperation = tool === 'eraser' ? 'destination-out' : 'source-over';
    const width = tool === 'eraser' ? ERASER_WIDTH : PEN_WIDTH;
    context.beginPath();
    if (rest.length === 0) {
      // A click is a dot (a zero-length line may not be drawn at all).
      context.fillStyle = color;
      context.arc(first.x, first.y, width / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    context.strokeStyle = color;
    context.lineWidth = width;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.moveTo(first.x, first.y);
    for (const point of rest) context.lineTo(point.x, point.y);
    context.stroke();
  };

  // Committed strokes replace their live previews (and Clear, a new generation, repaints).
  effect(() => {
    for (const stroke of strokes()) live.delete(stroke.id);
    requestDraw();
  });
  // The others' points, as they draw (my own broadcasts land in my history too: skip them).
  drawing.lastMessage.subscribe((message) => {
    if (!message || message.strokeId === current?.id) return;
    let stroke = live.get(message.strokeId);
    if (!stroke) {
      stroke = { userId: message.from, points: [], lastPointAt: 0 };
      live.set(message.strokeId, stroke);
    }
    stroke.points.push(message.point);
    stroke.lastPointAt = Date.now();
    requestDraw();
  });
  // A preview whose author left or went quiet (never committed) goes away.
  setInterval(() => {
    const present = new Set(presence.others.peek().map((other) => other.user.id));
    for (const [id, stroke] of live) {
      if (!present.has(stroke.userId) || Date.now() - stroke.lastPointAt > 10_000) live.delete(id);
    }
    requestDraw();
  }, 2000);
  effect(() => {
    presence.others();
    requestDraw();
  });

  // Keep the bitmap at the element's size (and the screen's pixel ratio) so lines stay sharp.
  new ResizeObserver(() => {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * ratio);
    canvas.height = Math.round(canvas.clientHeight * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    paint();
  }).observe(canvas);

  const pointAt = (e: PointerEvent): Point => {
    const rect = canvas.getBoundingClientRect();
    return { x: Math.round(e.clientX - rect.left), y: Math.round(e.clientY - rect.top) };
  };
  const addPoint = (point: Point) => {
    if (!current) return;
    const last = current.points.at(-1);
    if (last && last.x === point.x && last.y === point.y) return;
    current.points.push(point);
    drawing.broadcast({ strokeId: current.id, point });
    requestDraw();
  };
  const start = (point: Point) => {
    current = {
      id: `${user.id}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
      userId: user.id,
      color: user.color,
      tool: presence.myPresence.peek().tool,
      startedAt: Date.now(),
      generation: whiteboard.get('generation'),
      points: [],
    };
    addPoint(point);
  };
  const finish = () => {
    if (!current) return;
    const stroke = current;
    current = null;
    // The next free slot: my strokes of this generation fill slots 0..n-1 (so after a Clear,
    // and after a reload, counting starts over the same keys).
    const state = whiteboard.state.peek();
    const prefix = `stroke:${user.id}:`;
    const used = Object.entries(state).filter(
      ([key, value]) =>
        key.startsWith(prefix) && (value as Stroke | null)?.generation === state.generation,
    ).length;
    whiteboard.set(`stroke:${user.id}:${used}`, stroke);
  };

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    start(pointAt(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!current) return;
    addPoint(pointAt(e));
    if (current.points.length >= MAX_POINTS) {
      const last = current.points.at(-1)!;
      finish();
      start(last);
    }
  });
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', finish);
  return canvas;
}

document.body.append(Whiteboard({ roomId: exampleSession('whiteboard').room }));
