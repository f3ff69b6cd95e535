/**
 * The static rules of the risk check (docs/contracts.md, "Risk check"), over acorn's syntax tree.
 * Each rule reads the indexed tree (risk-ast.ts) and reports findings at a node. Messages name
 * what the code does (a method, an action, a namespace); they never quote a string literal that
 * could hold personal data.
 */

import type { ContractManifest } from './manifest.js';
import { NAMESPACE, SYSTEM_ACTION } from './manifest.js';
import { FORBIDDEN_GLOBALS } from './prelude.js';
import {
  type Ast,
  type AstNode,
  children,
  enclosingFunction,
  isFunction,
  isMember,
  literalFragments,
  literalPrefix,
  memberName,
  nameOf,
  resolve,
  shown,
  subtree,
} from './risk-ast.js';
import { type Add, recursion } from './risk-recursion.js';
import type { RiskRuleId } from './risk-score.js';

export interface RawFinding {
  rule: RiskRuleId;
  message: string;
  node: AstNode;
}

/** Globals the sandbox does not have at all: using one throws a ReferenceError (CONTRACT_ERROR). */
const ABSENT_GLOBALS = [
  'require',
  'process',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'queueMicrotask',
  'fetch',
  'XMLHttpRequest',
];
const FORBIDDEN = new Set<string>([...FORBIDDEN_GLOBALS, ...ABSENT_GLOBALS]);
const HOST_KEYED = new Set(['get', 'put', 'del', 'range']);
const HOST_METHODS = new Set([...HOST_KEYED, 'emit', 'system']);

/** Field names that hold personal data (compared lower-case, without `_` and `-`). */
const PII_FIELDS = new Set([
  'email',
  'emailaddress',
  'mail',
  'phone',
  'phonenumber',
  'mobile',
  'telephone',
  'tel',
  'name',
  'fullname',
  'firstname',
  'lastname',
  'surname',
  'givenname',
  'familyname',
  'address',
  'street',
  'postcode',
  'zip',
  'zipcode',
  'iban',
  'dob',
  'birthdate',
  'dateofbirth',
  'birthday',
  'ssn',
  'passport',
  'nationalid',
  'taxid',
]);
const PII_OWNERS = ['customer', 'user', 'client', 'person', 'holder', 'member', 'contact', 'home', 'billing'];

export function isPiiField(field: string): boolean {
  const f = field.toLowerCase().replace(/[_-]/g, '');
  if (PII_FIELDS.has(f)) return true;
  for (const o of PII_OWNERS) if (f.startsWith(o) && PII_FIELDS.has(f.slice(o.length))) return true;
  return false;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const PHONE = /\+?\(?\d[\d ().-]{6,22}\d/g;
const IBAN = /\b[A-Z]{2}\d{2}[ ]?[A-Z0-9]{4}([ ]?[A-Z0-9]{2,4}){2,7}\b/;
const PERSON = /^[A-Z][a-z]+( [A-Z]\.?)?( [A-Z][a-z]+){1,2}$/;
/** Capitalised words of labels that are not names ('Gold Member', 'Data Sharing Agreement'). */
const NOT_NAMES = new Set(
  (
    'account agreement alliance bank basic card claim customer data fee gold group income insurance insurer ' +
    'loyalty member partner platinum points policy premium programme program record retail retailer ' +
    'service sharing silver standard tier'
  ).split(' '),
);

/** 8 to 15 digits with a leading + or at least two separators, and not a date or a time. */
function looksLikePhone(s: string): boolean {
  for (const m of s.matchAll(PHONE)) {
    const t = m[0];
    if (m.index > 0 && /\w/.test(s[m.index - 1] as string)) continue;
    const digits = t.replace(/\D/g, '').length;
    if (digits < 8 || digits > 15 || /^\d{4}-\d{2}-\d{2}/.test(t) || /\d:\d/.test(s)) continue;
    if (t.startsWith('+') || (t.match(/[ ().-]/g) ?? []).length >= 2) return true;
  }
  return false;
}

/** What kind of personal data a string looks like, or undefined (strings past 1,024 characters are not read). */
export function piiKind(s: string): string | undefined {
  if (s.length > 1024) return undefined;
  if (EMAIL.test(s)) return 'an email address';
  if (IBAN.test(s)) return 'an IBAN';
  if (looksLikePhone(s)) return 'a phone number';
  const t = s.trim();
  if (PERSON.test(t) && t.split(' ').every((w) => !NOT_NAMES.has(w.toLowerCase()))) return "a person's name";
  return undefined;
}

/** `host.<m>(...)` calls with a static method name. */
function hostCall(n: AstNode): string | undefined {
  if (n.type !== 'CallExpression') return undefined;
  const callee = n.callee as AstNode;
  if (!isMember(callee, 'host')) return undefined;
  const m = memberName(callee);
  return m !== undefined && HOST_METHODS.has(m) ? m : undefined;
}

function printable(s: string, pattern: RegExp): string {
  return pattern.test(s) ? s : 'a name that is not valid';
}

/** Runs every rule; findings in no particular order (the report sorts them). */
export function runRules(ast: Ast, manifest: ContractManifest, tested: ReadonlySet<string>): RawFinding[] {
  const out: RawFinding[] = [];
  const add = (rule: RiskRuleId, node: AstNode, message: string) => out.push({ rule, message, node });
  const exported = exportedMethods(ast);
  const methods = exportedFunctions(ast, exported);
  for (const n of ast.nodes) {
    globals(ast, n, add);
    loops(ast, n, methods, add);
    const m = hostCall(n);
    if (m !== undefined) hostUse(ast, n, m, manifest, add);
    hostAliasing(ast, n, add);
  }
  recursion(ast, add);
  for (const [name, node] of exported) {
    if (!tested.has(name)) add('missing-tests', node, `exported method ${shown(name)} has no declared test call`);
  }
  return out;
}

/** Is this identifier a reference to a binding (not a property name, label or declared name)? */
function isReference(ast: Ast, n: AstNode): boolean {
  const p = ast.parent.get(n);
  if (p === undefined) return true;
  if (p.type === 'MemberExpression' && p.property === n && !p.computed) return false;
  if (
    (p.type === 'Property' || p.type === 'MethodDefinition' || p.type === 'PropertyDefinition') &&
    p.key === n &&
    !p.computed
  ) {
    return p.type === 'Property' && p.shorthand === true && p.value === n;
  }
  if (p.type === 'LabeledStatement' || p.type === 'BreakStatement' || p.type === 'ContinueStatement') return false;
  if (p.type === 'VariableDeclarator' && p.id === n) return false;
  if (isFunction(p) && (p.id === n || (p.params as AstNode[]).includes(n))) return false;
  return true;
}

/** Uses of a refused global the runtime allows: `typeof X`, `Function.prototype`, `x instanceof Function`. */
function harmlessUse(ast: Ast, n: AstNode): boolean {
  const p = ast.parent.get(n);
  if (p === undefined) return false;
  if (p.type === 'UnaryExpression' && p.operator === 'typeof') return true;
  if (n.name !== 'Function') return false;
  if (p.type === 'BinaryExpression' && p.operator === 'instanceof' && p.right === n) return true;
  return p.type === 'MemberExpression' && p.object === n && memberName(p) === 'prototype';
}

function globals(ast: Ast, n: AstNode, add: Add): void {
  if (n.type === 'Identifier' && FORBIDDEN.has(n.name as string) && isReference(ast, n) && !harmlessUse(ast, n)) {
    const name = n.name as string;
    const why = ABSENT_GLOBALS.includes(name)
      ? 'is not available in the contract sandbox'
      : 'is refused by the runtime (CONTRACT_FORBIDDEN)';
    add('forbidden-global', n, `${name} ${why}`);
  } else if (n.type === 'MemberExpression') {
    const prop = memberName(n);
    if (isMember(n, 'Math', 'random'))
      add('forbidden-global', n, 'Math.random is refused by the runtime (CONTRACT_FORBIDDEN)');
    else if (prop === 'constructor')
      add('forbidden-global', n, '.constructor reaches Function, which the runtime refuses (CONTRACT_FORBIDDEN)');
    else if (isMember(n, 'globalThis') && prop !== undefined && FORBIDDEN.has(prop))
      add('forbidden-global', n, `globalThis.${prop} is refused by the runtime`);
    else if (
      n.computed &&
      prop === undefined &&
      (n.object as AstNode).type === 'Identifier' &&
      ['globalThis', 'Math'].includes((n.object as AstNode).name as string)
    ) {
      add(
        'dynamic-code',
        n,
        `computed access to ${(n.object as AstNode).name as string}[...]: which global it reaches is not known before it runs`,
      );
    }
  } else if (n.type === 'WithStatement') {
    add('dynamic-code', n, 'with changes what names refer to at run time');
  } else if (n.type === 'ImportExpression') {
    add('dynamic-code', n, 'import() loads code at run time (contracts are one script)');
  } else if (n.type === 'CallExpression' && redefines(n)) {
    add('dynamic-code', n, 'globalThis or host is redefined: what names refer to is not known before it runs');
  }
}

const REDEFINE = [
  ['Object', 'defineProperty'],
  ['Object', 'defineProperties'],
  ['Object', 'assign'],
  ['Object', 'setPrototypeOf'],
  ['Reflect', 'defineProperty'],
  ['Reflect', 'set'],
  ['Reflect', 'setPrototypeOf'],
] as const;

/** `Object.defineProperty(globalThis, ...)` and the like, on globalThis or host. */
function redefines(call: AstNode): boolean {
  const callee = call.callee as AstNode;
  if (!REDEFINE.some(([o, p]) => isMember(callee, o, p))) return false;
  const target = nameOf((call.arguments as AstNode[])[0]);
  return target === 'globalThis' || target === 'host';
}

/** host used other than as `host.<method>`: aliased, passed on, or indexed with a computed name. */
function hostAliasing(ast: Ast, n: AstNode, add: Add): void {
  if (n.type !== 'Identifier' || n.name !== 'host' || !isReference(ast, n)) return;
  const p = ast.parent.get(n);
  if (p?.type === 'MemberExpression' && p.object === n) {
    const m = memberName(p);
    const gp = ast.parent.get(p);
    if (gp?.type === 'AssignmentExpression' && gp.left === p) {
      add('dynamic-code', p, 'a host function is replaced: what its calls do is not known before it runs');
      return;
    }
    if (m !== undefined && HOST_METHODS.has(m)) return;
    add(
      'dynamic-code',
      p,
      m === undefined
        ? 'host[...] with a computed name: which host call it makes is not known before it runs'
        : `host.${printable(m, /^[A-Za-z]{1,32}$/)} is not a host call`,
    );
    return;
  }
  if (p?.type === 'UnaryExpression' && p.operator === 'typeof') return;
  add('dynamic-code', n, 'host is aliased or passed on: its calls cannot be checked against the manifest');
}

function hostUse(ast: Ast, n: AstNode, method: string, manifest: ContractManifest, add: Add): void {
  const args = n.arguments as AstNode[];
  const first = args[0];
  if (method === 'system') {
    if (first === undefined) return;
    const { prefix, complete } = literalPrefix(ast, first);
    if (!complete)
      add('dynamic-code', first, 'host.system with a computed action: it cannot be checked against the grants');
    else if (!manifest.grants.includes(prefix)) {
      add(
        'ungranted-system',
        first,
        `host.system('${printable(prefix, SYSTEM_ACTION)}') is not granted by the manifest`,
      );
    }
    return;
  }
  if (method === 'put' || method === 'emit') personalData(ast, n, method, add);
  if (!HOST_KEYED.has(method) || first === undefined) return;
  const { prefix, complete } = literalPrefix(ast, first);
  const slash = prefix.indexOf('/');
  if (slash > 0 || (complete && prefix.length > 0)) {
    const ns = slash > 0 ? prefix.slice(0, slash) : prefix;
    if (!manifest.namespaces.includes(ns)) {
      const where = NAMESPACE.test(ns) ? `namespace ${ns}` : 'a namespace that is not valid';
      add(
        'key-outside-namespace',
        first,
        `host.${method} on a key in ${where}, not one of the manifest's (${manifest.namespaces.join(', ')})`,
      );
    }
  } else if (prefix.length > 0 && manifest.namespaces.every((ns) => !`${ns}/`.startsWith(prefix))) {
    add(
      'key-outside-namespace',
      first,
      `host.${method} on a key outside the manifest's namespaces (${manifest.namespaces.join(', ')})`,
    );
  } else {
    add('unresolved-key', first, `host.${method} on a key with no literal namespace prefix: checked only when it runs`);
  }
}

/** Personal data written with host.put (key or value) or host.emit (the event). */
function personalData(ast: Ast, call: AstNode, method: string, add: Add): void {
  const args = call.arguments as AstNode[];
  const flagged = new Set<AstNode>();
  const flag = (node: AstNode, what: string) => {
    if (flagged.has(node)) return;
    flagged.add(node);
    add('personal-data', node, `${what} written to plain ledger state with host.${method}`);
  };
  if (method === 'put' && args[0] !== undefined) {
    for (const frag of literalFragments(ast, args[0])) {
      const kind = piiKind(frag);
      if (kind !== undefined) flag(args[0], `a key containing ${kind}`);
      for (const seg of frag.split(/[/:.]/))
        if (seg !== '' && isPiiField(seg)) flag(args[0], `a key with a personal-data segment (${seg})`);
    }
  }
  const value = method === 'put' ? args[1] : args[0];
  if (value === undefined) return;
  // The value expression and the const values it names, one level of indirection deep per name.
  const stack: AstNode[] = [value];
  const visited = new Set<AstNode>();
  while (stack.length > 0 && visited.size < 2000) {
    const e = stack.pop() as AstNode;
    if (visited.has(e)) continue;
    visited.add(e);
    if (isFunction(e)) continue;
    if (e.type === 'Literal' && typeof e.value === 'string') {
      const kind = piiKind(e.value);
      if (kind !== undefined) flag(e, `a string that looks like ${kind}`);
    } else if (e.type === 'TemplateLiteral') {
      for (const q of e.quasis as AstNode[]) {
        const kind = piiKind((q.value as { cooked?: string | null }).cooked ?? '');
        if (kind !== undefined) flag(e, `a string that looks like ${kind}`);
      }
    } else if (e.type === 'Property' && !e.computed) {
      const key = nameOf(e.key);
      if (key !== undefined && isPiiField(key)) flag(e.key as AstNode, `a field named ${key}`);
    } else if (e.type === 'MemberExpression') {
      const prop = memberName(e);
      if (prop !== undefined && isPiiField(prop)) flag(e, `a value read from a field named ${prop}`);
    } else if (e.type === 'Identifier') {
      const name = e.name as string;
      if (isPiiField(name) && isReference(ast, e)) flag(e, `a variable named ${name}`);
      const v = resolve(ast, e);
      if (v !== e) stack.push(v);
      continue;
    }
    const cs = children(e);
    for (let i = cs.length - 1; i >= 0; i--) stack.push(cs[i] as AstNode);
  }
}

/** Exported methods: `exports.m = ...` and `exports['m'] = ...`, with the node to report at. */
function exportedMethods(ast: Ast): Map<string, AstNode> {
  const out = new Map<string, AstNode>();
  for (const n of ast.nodes) {
    if (n.type !== 'AssignmentExpression') continue;
    const left = n.left as AstNode;
    if (isMember(left, 'exports')) {
      const name = memberName(left);
      if (name !== undefined && !out.has(name)) out.set(name, left);
    }
  }
  return out;
}

/** The function node an exported method is, when it is one (directly or by name). */
function exportedFunctions(ast: Ast, exported: Map<string, AstNode>): Set<AstNode> {
  const out = new Set<AstNode>();
  for (const left of exported.values()) {
    const assign = ast.parent.get(left) as AstNode;
    const right = resolve(ast, assign.right as AstNode);
    if (isFunction(right)) out.add(right);
    else if (right.type === 'Identifier') {
      const f = ast.consts.get(right.name as string);
      if (f !== undefined && isFunction(f)) out.add(f);
    }
  }
  return out;
}

const LOOPS = new Set(['WhileStatement', 'DoWhileStatement', 'ForStatement']);

function alwaysTrue(test: AstNode | null): boolean {
  if (test === null) return true;
  if (test.type === 'Literal') return Boolean(test.value);
  if (test.type === 'UnaryExpression' && test.operator === '!') {
    const a = test.argument as AstNode;
    return a.type === 'Literal' && !a.value;
  }
  return false;
}

function loops(ast: Ast, n: AstNode, fns: Set<AstNode>, add: Add): void {
  if (!LOOPS.has(n.type)) return;
  const test = (n.test ?? null) as AstNode | null;
  if (alwaysTrue(test)) {
    if (!hasExit(ast, n)) add('unbounded-loop', n, 'this loop never ends: no break, return or throw leaves it');
    return;
  }
  if (test === null) return;
  let method: AstNode | undefined;
  for (let f = enclosingFunction(ast, n); f !== undefined; f = enclosingFunction(ast, f)) if (fns.has(f)) method = f;
  const argsParam = method === undefined ? undefined : nameOf((method.params as AstNode[])[0]);
  if (argsParam === undefined) return;
  if (dependsOnArgs(ast, test, argsParam)) {
    add(
      'args-bound-loop',
      n,
      `this loop's bound comes from the call arguments (${shown(argsParam)}) with no Math.min cap`,
    );
  }
}

/** Nodes one loop's argument-dependence query may visit (its condition and the constants it names). */
const ARGS_VISITS = 512;

/**
 * Does a loop's condition read the arguments parameter (directly or through constants) with no
 * Math.min cap? A constant whose value calls Math.min is capped. Iterative and bounded: past
 * ARGS_VISITS nodes the answer is no (the rule then misses a loop; it never fails the check).
 */
function dependsOnArgs(ast: Ast, test: AstNode, param: string): boolean {
  const queue: AstNode[] = [test];
  const seen = new Set<AstNode>();
  let visits = 0;
  for (let i = 0; i < queue.length; i++) {
    const e = queue[i] as AstNode;
    if (seen.has(e)) continue;
    seen.add(e);
    const refs: AstNode[] = [];
    const stack = [e];
    let isCapped = false;
    while (stack.length > 0 && !isCapped) {
      const c = stack.pop() as AstNode;
      if (++visits > ARGS_VISITS) return false;
      if (c !== e && isFunction(c)) continue;
      if (c.type === 'CallExpression' && isMember(c.callee as AstNode, 'Math', 'min')) isCapped = true;
      else if (c.type === 'Identifier' && isReference(ast, c)) refs.push(c);
      const cs = children(c);
      for (let j = cs.length - 1; j >= 0; j--) stack.push(cs[j] as AstNode);
    }
    if (isCapped) continue;
    for (const r of refs) {
      if (r.name === param) return true;
      const v = ast.consts.get(r.name as string);
      if (v !== undefined && !isFunction(v)) queue.push(v);
    }
  }
  return false;
}

/** A break, return or throw in the loop's body (not in a nested function) that leaves the loop. */
function hasExit(ast: Ast, loop: AstNode): boolean {
  const inner = new Set([
    'WhileStatement',
    'DoWhileStatement',
    'ForStatement',
    'ForInStatement',
    'ForOfStatement',
    'SwitchStatement',
  ]);
  for (const c of subtree(loop.body as AstNode)) {
    if (c.type === 'ReturnStatement' || c.type === 'ThrowStatement') return true;
    if (c.type !== 'BreakStatement') continue;
    const label = nameOf(c.label);
    // A labelled break leaves the loop unless its label is inside the loop's body.
    let target: AstNode | undefined;
    for (let p = ast.parent.get(c); p !== undefined && p !== loop; p = ast.parent.get(p)) {
      if (label === undefined ? inner.has(p.type) : p.type === 'LabeledStatement' && nameOf(p.label) === label) {
        target = p;
        break;
      }
    }
    if (target === undefined) return true;
  }
  return false;
}
