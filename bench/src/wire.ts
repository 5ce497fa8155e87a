import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client on a raw socket, as cheap as a receiver can be: it reads frame headers and
 * skips payloads, looking only at the first bytes of each text frame (to tell data from control
 * traffic) unless it was asked to keep whole payloads (the sampled latency receivers).
 */

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ZERO_MASK = Buffer.alloc(4);
const SHARED_READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

export interface WireOptions {
  port: number;
  path: string;
  /** Loopback source address (127.0.0.x), to spread many sockets over more source ports. */
  localAddress?: string;
  /** Frames whose payload starts with this are counted as data (text frames unless `binary`). */
  marker: Buffer;
  /** Data frames are binary (Yjs envelopes) instead of text. */
  binary?: boolean;
  /** Keep and hand over whole data payloads (sampled receivers). */
  sample?: (payload: Buffer) => void;
  /** Every text frame that is not data (handshakes, presence, pings of engine.io). */
  onControl?: (payload: Buffer) => void;
  /**
   * Every text frame that is not data, streamed in parts as it is parsed, without copying
   * (`part` is a view into a shared read buffer: read it, never keep it).
   */
  onTextPart?: (part: Buffer, first: boolean, last: boolean, frameLength: number) => void;
}

/** Builds a masked client frame with a zero mask key (valid per RFC 6455, and XOR-free). */
export function clientFrame(payload: Buffer | string, opcode = 1): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length;
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extra + 4 + length);
  frame[0] = 0x80 | opcode;
  if (extra === 0) frame[1] = 0x80 | length;
  else if (extra === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  ZERO_MASK.copy(frame, 2 + extra);
  data.copy(frame, 6 + extra);
  return frame;
}

export class WireClient {
  /** Data frames received. */
  count = 0;
  /** Every byte read from the socket (handshake response included). */
  bytesIn = 0;
  private socket: Socket | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private upgraded = false;
  /** Bytes of the current frame's payload still to skip or collect. */
  private remaining = 0;
  private opcode = 0;
  private collecting: Buffer[] | null = null;
  private isData = false;
  /** The current frame goes to `onTextPart`; its length and how much of it was passed on. */
  private streamText = false;
  private frameLength = 0;
  private framePos = 0;
  closed = false;
  /** Receives text frames that are not data (join handshakes, presence, engine.io pings). */
  onControl: ((payload: Buffer) => void) | undefined;
  /** While set, receives binary frames that are not data (Yjs sync steps during a join). */
  onBinary: ((payload: Buffer) => void) | undefined;
  /**
   * Control frames seen so far, kept until the join is done: they can arrive in the same read as
   * the handshake response, before anyone is listening.
   */
  readonly controls: Buffer[] = [];
  keepControls = true;
  /** Sampled receivers hand over one data payload in this many (the rest are only counted). */
  sampleEvery = 1;

  constructor(private readonly options: WireOptions) {
    this.onControl = options.onControl;
  }

  open(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const { port, path, localAddress } = this.options;
      // `onread` with one shared buffer: no allocation and no stream events per read, and
      // `pause()` really stops reading (see ReadBatcher). Chunks are parsed before the next read,
      // so anything kept past the callback is copied.
      const socket = connect({
        port,
        host: '127.0.0.1',
        localAddress,
        onread: {
          buffer: SHARED_READ_BUFFER,
          callback: (bytes: number, buffer: Uint8Array) => {
            this.bytesIn += bytes;
            this.onBytes(
              Buffer.from(buffer.buffer, buffer.byteOffset, bytes),
              resolve,
              reject,
              timer,
            );
            return true;
          },
        },
      });
      this.socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('handshake timed out'));
      }, timeoutMs);
      socket.once('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      socket.on('error', (error) => {
        clearTimeout(timer);
        this.closed = true;
        reject(error);
      });
      socket.on('close', () => {
        this.closed = true;
      });
    });
  }

  private onBytes(
    chunk: Buffer,
    resolve: () => void,
    reject: (error: Error) => void,
    timer: NodeJS.Timeout,
  ): void {
    if (this.upgraded) {
      this.parse(chunk);
      return;
    }
    this.pending = Buffer.concat([this.pending, chunk]);
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.pending.subarray(0, end).toString();
    const rest = this.pending.subarray(end + 4);
    this.pending = Buffer.alloc(0);
    clearTimeout(timer);
    if (!head.startsWith('HTTP/1.1 101')) {
      this.socket?.destroy();
      // The status line, and as much of the body (the server's reason) as came with it.
      const body = rest.subarray(0, 200).toString().trim();
      reject(new Error(`${head.split('\r\n')[0]}${body ? ` ${body}` : ''}`));
      return;
    }
    this.upgraded = true;
    resolve();
    if (rest.length) this.parse(rest);
  }

  send(frame: Buffer): void {
    this.socket?.write(frame);
  }

  /** Stops reading (data waits in the kernel buffer) or starts again; see `ReadBatcher`. */
  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  get isSampled(): boolean {
    return this.options.sample !== undefined;
  }

  destroy(): void {
    this.socket?.destroy();
  }

  private parse(chunk: Buffer): void {
    let offset = 0;
    if (this.pending.length) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = Buffer.alloc(0);
    }
    const { marker } = this.options;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        if (this.streamText) {
          this.options.onTextPart?.(
            chunk.subarray(offset, offset + take),
            this.framePos === 0,
            take === this.remaining,
            this.frameLength,
          );
          this.framePos += take;
        }
        if (this.collecting)
          this.collecting.push(Buffer.from(chunk.subarray(offset, offset + take)));
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.finishFrame();
        continue;
      }
      // Header: need 2 bytes, plus extended length; and the marker's bytes to classify text.
      if (chunk.length - offset < 2) break;
      const b0 = chunk[offset]!;
      const b1 = chunk[offset + 1]!;
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (chunk.length - offset < 4) break;
        length = chunk.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (chunk.length - offset < 10) break;
        length = Number(chunk.readBigUInt64BE(offset + 2));
        header = 10;
      }
      this.opcode = b0 & 0x0f;
      const peek = Math.min(length, marker.length);
      if (chunk.length - offset < header + peek) break;
      const start = offset + header;
      this.isData =
        this.opcode === (this.options.binary ? 2 : 1) &&
        length >= marker.length &&
        chunk.compare(marker, 0, marker.length, start, start + marker.length) === 0;
      // Control payloads are kept only when someone reads them: pings (answered with a pong),
      // text while joining or with a listener (after a join, presence broadcasts to a big room
      // would otherwise be copied and decoded by every member: O(members²) work in the generator),
      // binary while `onBinary` is set.
      const keep = this.isData
        ? this.options.sample !== undefined && (this.count + 1) % this.sampleEvery === 0
        : this.opcode === 9 ||
          (this.opcode === 1 && (this.keepControls || this.onControl !== undefined)) ||
          (this.opcode === 2 && this.onBinary !== undefined);
      this.collecting = keep ? [] : null;
      this.streamText = !this.isData && this.opcode === 1 && this.options.onTextPart !== undefined;
      this.frameLength = length;
      this.framePos = 0;
      offset = start;
      this.remaining = length;
      if (length === 0) {
        if (this.streamText) this.options.onTextPart?.(chunk.subarray(start, start), true, true, 0);
        this.finishFrame();
      }
    }
    if (offset < chunk.length) this.pending = Buffer.from(chunk.subarray(offset));
  }

  private finishFrame(): void {
    const payload = this.collecting ? Buffer.concat(this.collecting) : null;
    this.collecting = null;
    if (this.isData) {
      this.count++;
      if (payload) this.options.sample?.(payload);
      return;
    }
    if (this.opcode === 9) {
      // ping → pong with the same payload
      this.send(clientFrame(payload ?? Buffer.alloc(0), 0xa));
      return;
    }
    if (this.opcode === 2 && payload) {
      this.onBinary?.(payload);
      return;
    }
    if (this.opcode === 1 && payload) {
      if (this.keepControls && this.controls.length < 32) this.controls.push(payload);
      this.onControl?.(payload);
    }
  }
}
