import { describe, expect, it } from 'vitest';
import { parseArgs, usage } from '../src/cli-args.js';

describe('bench options', () => {
  it('asks for help with --help or -h, whatever else is on the line', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--quick', '-h', '--only', 'nope'])).toEqual({ kind: 'help' });
  });

  it('describes every option in the usage text', () => {
    const text = usage();
    for (const flag of ['--help', '--quick', '--only', '--systems', '--out', '--cap', '--report'])
      expect(text).toContain(flag);
    expect(text).toContain('bigroom-1k');
    expect(text).toContain('ws-corked');
  });

  it('parses lists, an output directory and a cap', () => {
    const parsed = parseArgs([
      '--quick',
      '--only',
      'fanout,bigroom-10k',
      '--systems',
      'roomkit,ws-corked',
      '--out',
      '/tmp/x',
      '--cap',
      '90',
    ]);
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        quick: true,
        report: false,
        only: ['fanout', 'bigroom-10k'],
        systems: ['roomkit', 'ws-corked'],
        out: '/tmp/x',
        capSeconds: 90,
      },
    });
  });

  it('refuses unknown options, scenarios and systems, and missing or bad values', () => {
    const error = (args: string[]) => {
      const parsed = parseArgs(args);
      return parsed.kind === 'error' ? parsed.message : null;
    };
    expect(error(['--fast'])).toBe('unknown option --fast');
    expect(error(['fanout'])).toBe('unknown option fanout');
    expect(error(['--only', 'fanout,nope'])).toMatch(/^unknown scenario nope/);
    expect(error(['--systems', 'uws'])).toMatch(/^unknown system uws/);
    expect(error(['--only'])).toBe('--only needs a value <scenarios>');
    expect(error(['--out', '--quick'])).toBe('--out needs a value <dir>');
    expect(error(['--cap', '0'])).toMatch(/^--cap needs a positive number/);
  });
});
