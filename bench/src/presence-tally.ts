/**
 * What one big-room member knows about the room, read from its text frames as they stream past
 * (WireClient `onTextPart`), without copying them: the size of the last member list it received
 * plus the `join` notices since. An exact tally counts the users in every list (occurrences of
 * `"userId":`, including matches split across reads); a cheap one only notes each list's byte
 * length, which the scenario compares with an exact member's final list (the same broadcast).
 */

const PATTERN = Buffer.from('"userId":');
const HEAD = 24;

export interface TallyPrefixes {
  /** A frame carrying the whole member list. */
  list: string;
  /** A frame announcing one more member (null: the system only sends lists). */
  join: string | null;
  /**
   * A `join` frame may name several new members (Roomkit's `presence:delta`, each joined user
   * once with its `"userId":`): an exact tally adds the users it names instead of one. The list
   * (the joiner's snapshot) then names the member itself, which the next join frame names again,
   * so the list counts one less.
   */
  joinNamesUsers?: boolean;
}

export class PresenceTally {
  /** Users this member knows of; null while it has only cheap (uncounted) lists. */
  count: number | null = 0;
  /** Byte length of the last member list received. */
  lastListBytes = 0;
  lists = 0;
  private readonly head = Buffer.alloc(HEAD);
  private headBytes = 0;
  private inFrame = 0;
  private carry: Buffer = Buffer.alloc(0);
  private readonly list: Buffer;
  private readonly join: Buffer | null;
  private readonly joinNamesUsers: boolean;

  constructor(
    prefixes: TallyPrefixes,
    readonly exact: boolean,
  ) {
    this.list = Buffer.from(prefixes.list);
    this.join = prefixes.join === null ? null : Buffer.from(prefixes.join);
    this.joinNamesUsers = prefixes.joinNamesUsers === true;
  }

  /** For WireClient's `onTextPart`. */
  readonly part = (part: Buffer, first: boolean, last: boolean, frameLength: number): void => {
    if (first) {
      this.headBytes = 0;
      this.inFrame = 0;
      this.carry = Buffer.alloc(0);
    }
    if (this.headBytes < HEAD) {
      this.headBytes += part.copy(this.head, this.headBytes, 0, HEAD - this.headBytes);
    }
    if (this.exact) this.countIn(part);
    if (last) this.finish(frameLength);
  };

  private startsWith(prefix: Buffer): boolean {
    return (
      this.headBytes >= prefix.length &&
      this.head.compare(prefix, 0, prefix.length, 0, prefix.length) === 0
    );
  }

  private finish(frameLength: number): void {
    if (this.startsWith(this.list)) {
      this.lists++;
      this.lastListBytes = frameLength;
      this.count = this.exact ? Math.max(0, this.inFrame - (this.joinNamesUsers ? 1 : 0)) : null;
    } else if (this.join && this.startsWith(this.join) && this.count !== null) {
      this.count += this.joinNamesUsers && this.exact ? this.inFrame : 1;
    }
  }

  /** Counts the pattern in `part`, and across the boundary with the previous part. */
  private countIn(part: Buffer): void {
    const keep = PATTERN.length - 1;
    if (this.carry.length > 0) {
      const seam = Buffer.concat([this.carry, part.subarray(0, keep)]);
      this.inFrame += occurrences(seam);
    }
    this.inFrame += occurrences(part);
    const tail = part.length >= keep ? part.subarray(part.length - keep) : part;
    const joined = part.length >= keep ? tail : Buffer.concat([this.carry, tail]);
    this.carry = Buffer.from(joined.subarray(Math.max(0, joined.length - keep)));
  }
}

function occurrences(buffer: Buffer): number {
  let n = 0;
  let at = buffer.indexOf(PATTERN);
  while (at >= 0) {
    n++;
    at = buffer.indexOf(PATTERN, at + PATTERN.length);
  }
  return n;
}
