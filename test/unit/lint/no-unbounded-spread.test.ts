import path from 'node:path';
import { RuleTester, type Rule } from 'eslint';
import tseslint from 'typescript-eslint';
import { maxOf, minOf, pushAll } from '../../../src/util/array';

const rule = jest.requireActual<Rule.RuleModule>(
  path.resolve(__dirname, '../../../eslint-rules/no-unbounded-spread.cjs'),
);
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

describe('spotdag/no-unbounded-spread', () => {
  tester.run('no-unbounded-spread', rule, {
    valid: [
      'Math.max(...[a, b, c]);',
      'const all = [...xs, ...ys]; const copy = { ...o };',
      'function f(...xs: number[]) { return g(...xs); }',
      'const f = (...xs: number[]) => Math.max(...xs);',
      'function f() { return g(...arguments); }',
      'fn.apply(null, [a, b]);',
      'function f(this: unknown, ...args: unknown[]) { return g.apply(this, args); }',
      'Math.max(a, b);',
    ],
    invalid: [
      { code: 'Math.max(...xs);', errors: [{ messageId: 'spread' }] },
      { code: 'out.push(...xs);', errors: [{ messageId: 'spread' }] },
      { code: 'fn(...bigArray);', errors: [{ messageId: 'spread' }] },
      { code: 'new Foo(...xs);', errors: [{ messageId: 'spread' }] },
      { code: 'Math.max(0, ...xs.map((x) => x.v));', errors: [{ messageId: 'spread' }] },
      { code: 'a?.push(...xs);', errors: [{ messageId: 'spread' }] },
      // A plain parameter is any array; only rest parameters are bounded by their call.
      { code: 'function f(ys: number[]) { return g(...ys); }', errors: [{ messageId: 'spread' }] },
      // A rest parameter of an outer function shadowed by a local is not trusted.
      {
        code: 'function f(...xs: number[]) { return (xs: number[]) => g(...xs); }',
        errors: [{ messageId: 'spread' }],
      },
      { code: 'Math.max.apply(null, xs);', errors: [{ messageId: 'apply' }] },
      { code: 'Math.min(...a, ...b);', errors: [{ messageId: 'spread' }, { messageId: 'spread' }] },
    ],
  });
});

describe('maxOf, minOf, pushAll', () => {
  const big = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);

  it('fold a million values, where a spread throws', () => {
    // eslint-disable-next-line spotdag/no-unbounded-spread -- the failure the rule prevents
    expect(() => Math.max(...big)).toThrow(RangeError);
    expect(maxOf(big)).toBe(big.reduce((a, b) => (b > a ? b : a)));
    expect(minOf(big)).toBe(0);
    const out = [-1];
    expect(pushAll(out, big)).toBe(out);
    expect(out.length).toBe(big.length + 1);
    expect(out[1]).toBe(big[0]);
    expect(out.at(-1)).toBe(big.at(-1));
  });

  it('behave like Math.max / Math.min on edge cases', () => {
    expect(maxOf([])).toBe(-Infinity);
    expect(minOf([])).toBe(Infinity);
    expect(maxOf([1, NaN, 3])).toBeNaN();
    expect(minOf(new Set([4, 2, 9]))).toBe(2);
    expect(maxOf([-3, -1, -2])).toBe(-1);
  });
});
