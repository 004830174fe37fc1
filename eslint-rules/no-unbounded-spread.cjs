// @ts-check
'use strict';

/**
 * spotdag/no-unbounded-spread: no array of unknown length goes into a call's arguments.
 *
 * `Math.max(...xs)`, `out.push(...xs)`, `fn(...xs)`, `new C(...xs)` and `fn.apply(t, xs)` put every
 * element on the stack; past ~100,000 elements V8 throws "Maximum call stack size exceeded" (a month
 * of spot prices is enough). Allowed: a literal list (`f(...[a, b])`), a rest parameter of the
 * enclosing function or `arguments` (as long as the call that filled it), and the same inside array
 * literals (`[...a, ...b]` copies without the stack). Fix with maxOf / minOf / pushAll from
 * src/util/array.ts or a loop.
 */

/** @typedef {import('estree').Node} Node */
/** @typedef {import('eslint').Scope.Scope} Scope */

/**
 * @param {Scope | null} scope
 * @param {string} name
 */
function findVariable(scope, name) {
  for (let s = scope; s; s = s.upper) {
    const variable = s.set.get(name);
    if (variable) return variable;
  }
  return undefined;
}

/**
 * True when `arg` has a length fixed by the code: a literal list, a rest parameter, `arguments`.
 * @param {Node} arg
 * @param {Scope} scope
 */
function isBounded(arg, scope) {
  if (arg.type === 'ArrayExpression') return true;
  if (arg.type !== 'Identifier') return false;
  if (arg.name === 'arguments') return true;
  const variable = findVariable(scope, arg.name);
  return Boolean(
    variable?.defs.some(
      (def) =>
        def.type === 'Parameter' &&
        /** @type {Node & { parent?: Node }} */ (def.name).parent?.type === 'RestElement',
    ),
  );
}

/** @param {string} text */
function shortText(text) {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= 40 ? flat : `${flat.slice(0, 39)}…`;
}

/** @type {import('eslint').Rule.RuleModule} */
module.exports = {
  meta: {
    type: 'problem',
    docs: { description: 'disallow spreading an array of unknown length into call arguments' },
    schema: [],
    messages: {
      spread:
        'Spreading {{what}} into call arguments puts every element on the stack: past ~100,000 ' +
        'it throws "Maximum call stack size exceeded". Use maxOf / minOf / pushAll from ' +
        'src/util/array.ts, or a loop.',
      apply:
        '.apply with an array of unknown length puts every element on the stack: past ~100,000 ' +
        'it throws "Maximum call stack size exceeded". Use maxOf / minOf / pushAll from ' +
        'src/util/array.ts, or a loop.',
    },
  },
  create(context) {
    /** @param {import('estree').CallExpression | import('estree').NewExpression} node */
    function check(node) {
      const scope = context.sourceCode.getScope(node);
      for (const arg of node.arguments) {
        if (arg.type === 'SpreadElement' && !isBounded(arg.argument, scope)) {
          context.report({
            node: arg,
            messageId: 'spread',
            data: { what: shortText(context.sourceCode.getText(arg.argument)) },
          });
        }
      }
      const callee = node.callee;
      const second = node.arguments[1];
      if (
        node.type === 'CallExpression' &&
        callee.type === 'MemberExpression' &&
        !callee.computed &&
        callee.property.type === 'Identifier' &&
        callee.property.name === 'apply' &&
        node.arguments.length === 2 &&
        second &&
        second.type !== 'SpreadElement' &&
        !isBounded(second, scope)
      ) {
        context.report({ node: second, messageId: 'apply' });
      }
    }
    return { CallExpression: check, NewExpression: check };
  },
};
