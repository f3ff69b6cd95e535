/**
 * The syntax tree the risk check analyses: acorn's ESTree, walked iteratively (a contract's tree
 * can be deep without brackets, `!!!!x` or `a ? b : c ? d : ...`, and a recursive walk would meet
 * the host's stack at a depth that depends on the machine). Helpers resolve what a rule needs to
 * know statically: the literal prefix of a key, the value a `const` was given, the enclosing
 * function of a node.
 */
import { Parser, tokTypes } from 'acorn';

/** An ESTree node as acorn builds it (fields read by name, checked by the helpers below). */
export interface AstNode {
  type: string;
  start: number;
  end: number;
  loc: { start: { line: number; column: number } };
  [field: string]: unknown;
}

/** Nesting of the syntax tree the analysis accepts (deeper code is refused as input). */
export const MAX_AST_DEPTH = 200;
/**
 * Tokens in one unbroken chain: since the last `,` or `;` (an `else` continues the chain) of each
 * bracket level open, summed. acorn recurses once or more per operator of a chain (`!!!!x`,
 * `a ? b : c ? ...`, `x => y => ...`, `1 + 1 + ...`, `else if` ...), on a V8 stack whose room
 * depends on the caller and on JIT tiering: measured, it overflows past 500 chained arrows (two
 * tokens each) and 2,000 to 8,000 chained operators. Code with no longer chain than this cannot
 * make it overflow, so its syntax errors are reported as acorn gives them; for other code (the
 * count over-estimates code without semicolons) any failure to parse gets the one message
 * TOO_DEEP, whether acorn overflowed on this peer or not: every peer gives the same answer.
 */
export const MAX_TOKEN_CHAIN = 400;
export const TOO_DEEP = `expected contract source that parses as a script, nested at most ${MAX_AST_DEPTH} levels deep`;

export class AstTooDeep extends Error {
  constructor() {
    super(TOO_DEEP);
  }
}

const OPEN = new Set([tokTypes.parenL, tokTypes.bracketL, tokTypes.braceL, tokTypes.dollarBraceL]);
const CLOSE = new Set([tokTypes.parenR, tokTypes.bracketR, tokTypes.braceR]);

/** The longest chain of tokens (see MAX_TOKEN_CHAIN) in code that tokenizes (code-check.ts ran). */
export function longestTokenChain(code: string): number {
  // Per open bracket level: tokens since its last separator, and the count before it (for else).
  const levels: { n: number; before: number }[] = [{ n: 0, before: 0 }];
  let sum = 0;
  let max = 0;
  for (const tok of Parser.tokenizer(code, { ecmaVersion: 'latest', sourceType: 'script' })) {
    const top = levels[levels.length - 1] as { n: number; before: number };
    if (tok.type === tokTypes.comma || tok.type === tokTypes.semi) {
      sum -= top.n;
      top.before = top.n;
      top.n = 0;
      continue;
    }
    if (tok.type === tokTypes._else) {
      sum += top.before;
      top.n += top.before;
      top.before = 0;
    }
    top.n++;
    sum++;
    if (sum > max) max = sum;
    if (OPEN.has(tok.type)) levels.push({ n: 0, before: 0 });
    else if (CLOSE.has(tok.type) && levels.length > 1) {
      sum -= (levels.pop() as { n: number }).n;
    }
  }
  return max;
}

export interface Ast {
  root: AstNode;
  /** Every node, in source order of a depth-first walk (parents before children). */
  nodes: AstNode[];
  parent: Map<AstNode, AstNode>;
  /** `const` and `let` bindings declared exactly once in the program, by name: their initial value. */
  consts: Map<string, AstNode>;
}

function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

/** The child nodes of `n` in field order (acorn builds fields in a fixed order). */
export function children(n: AstNode): AstNode[] {
  const out: AstNode[] = [];
  for (const key of Object.keys(n)) {
    if (key === 'loc' || key === 'type') continue;
    const v = n[key];
    if (Array.isArray(v)) {
      for (const x of v) if (isNode(x)) out.push(x);
    } else if (isNode(v)) {
      out.push(v);
    }
  }
  return out;
}

/**
 * Parses `code` as a script and indexes its nodes. Throws acorn's SyntaxError (for code whose
 * chains are short, see MAX_TOKEN_CHAIN), or AstTooDeep when the tree is nested deeper than
 * MAX_AST_DEPTH, acorn's recursion overflowed, or code with a long chain does not parse.
 */
export function parseAst(code: string): Ast {
  const shallow = longestTokenChain(code) <= MAX_TOKEN_CHAIN;
  let root: AstNode;
  try {
    root = Parser.parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      locations: true,
      allowHashBang: false,
    }) as unknown as AstNode;
  } catch (e) {
    if (e instanceof RangeError || !shallow) throw new AstTooDeep();
    throw e;
  }
  const nodes: AstNode[] = [];
  const parent = new Map<AstNode, AstNode>();
  const stack: [AstNode, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop() as [AstNode, number];
    if (depth > MAX_AST_DEPTH) throw new AstTooDeep();
    nodes.push(n);
    const cs = children(n);
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i] as AstNode;
      // Shorthand properties ({ a }) share one node as key and value: index it once.
      if (parent.has(c)) continue;
      parent.set(c, n);
      stack.push([c, depth + 1]);
    }
  }
  return { root, nodes, parent, consts: constBindings(nodes) };
}

function constBindings(nodes: AstNode[]): Map<string, AstNode> {
  const seen = new Map<string, AstNode | null>();
  const declare = (name: string, init: AstNode | null) => seen.set(name, seen.has(name) ? null : init);
  for (const n of nodes) {
    if (n.type === 'VariableDeclarator') {
      const id = n.id as AstNode;
      const decl = n.init as AstNode | null;
      if (id.type === 'Identifier') declare(id.name as string, decl);
    } else if (n.type === 'FunctionDeclaration' && isNode(n.id)) {
      declare(n.id.name as string, n);
    } else if (n.type === 'AssignmentExpression' && (n.left as AstNode).type === 'Identifier') {
      // A reassigned binding has no single value.
      declare((n.left as AstNode).name as string, null);
    }
  }
  const out = new Map<string, AstNode>();
  for (const [k, v] of seen) if (v !== null) out.set(k, v);
  return out;
}

export function isFunction(n: AstNode): boolean {
  return n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';
}

/** `Identifier` name, or the string of a string literal; undefined otherwise. */
export function nameOf(n: unknown): string | undefined {
  if (!isNode(n)) return undefined;
  if (n.type === 'Identifier') return n.name as string;
  if (n.type === 'Literal' && typeof n.value === 'string') return n.value;
  return undefined;
}

/** The property name of a member expression when it is static (`a.b`, `a['b']`). */
export function memberName(n: AstNode): string | undefined {
  if (n.type !== 'MemberExpression') return undefined;
  const p = n.property as AstNode;
  if (!n.computed) return p.type === 'Identifier' ? (p.name as string) : undefined;
  return p.type === 'Literal' && typeof p.value === 'string' ? p.value : undefined;
}

/** True if `n` is `obj.prop` with the object an identifier named `obj` (static property). */
export function isMember(n: AstNode, obj: string, prop?: string): boolean {
  if (n.type !== 'MemberExpression') return false;
  const o = n.object as AstNode;
  if (o.type !== 'Identifier' || o.name !== obj) return false;
  return prop === undefined || memberName(n) === prop;
}

/** Follows an identifier to the value of its single `const`/`let` declaration (a few steps at most). */
export function resolve(ast: Ast, n: AstNode): AstNode {
  let cur = n;
  for (let i = 0; i < 8 && cur.type === 'Identifier'; i++) {
    const v = ast.consts.get(cur.name as string);
    if (v === undefined || v.type === 'FunctionDeclaration') break;
    cur = v;
  }
  return cur;
}

/** Nodes one literal-prefix or fragment query may visit: a key or action is a short expression. */
const LITERAL_VISITS = 64;

/**
 * What is statically known of a string expression: its literal text from the start, and whether
 * that is all of it. `'main/' + x` gives { prefix: 'main/', complete: false }. Visits at most
 * LITERAL_VISITS nodes (constants may refer to constants: the work stays bounded).
 */
export function literalPrefix(
  ast: Ast,
  n: AstNode,
  budget = { left: LITERAL_VISITS },
): { prefix: string; complete: boolean } {
  if (budget.left-- <= 0) return { prefix: '', complete: false };
  const e = resolve(ast, n);
  if (e.type === 'Literal' && typeof e.value === 'string') return { prefix: e.value, complete: true };
  if (e.type === 'TemplateLiteral') {
    const quasis = e.quasis as AstNode[];
    const first = (quasis[0]?.value as { cooked?: string | null } | undefined)?.cooked ?? '';
    return { prefix: first, complete: (e.expressions as AstNode[]).length === 0 };
  }
  if (e.type === 'BinaryExpression' && e.operator === '+') {
    const left = literalPrefix(ast, e.left as AstNode, budget);
    if (!left.complete) return left;
    const right = literalPrefix(ast, e.right as AstNode, budget);
    return { prefix: left.prefix + right.prefix, complete: right.complete };
  }
  return { prefix: '', complete: false };
}

/** Every literal string fragment of an expression built from literals, templates and `+` (bounded as above). */
export function literalFragments(ast: Ast, n: AstNode, budget = { left: LITERAL_VISITS }): string[] {
  if (budget.left-- <= 0) return [];
  const e = resolve(ast, n);
  if (e.type === 'Literal' && typeof e.value === 'string') return [e.value];
  if (e.type === 'TemplateLiteral') {
    return (e.quasis as AstNode[]).map((q) => (q.value as { cooked?: string | null }).cooked ?? '');
  }
  if (e.type === 'BinaryExpression' && e.operator === '+') {
    return [...literalFragments(ast, e.left as AstNode, budget), ...literalFragments(ast, e.right as AstNode, budget)];
  }
  return [];
}

/** The nearest enclosing function of `n` (undefined at the top level). */
export function enclosingFunction(ast: Ast, n: AstNode): AstNode | undefined {
  for (let p = ast.parent.get(n); p !== undefined; p = ast.parent.get(p)) if (isFunction(p)) return p;
  return undefined;
}

/** Nodes of the subtree of `n` (itself included), not entering nested functions unless asked. */
export function subtree(n: AstNode, intoFunctions = false): AstNode[] {
  const out: AstNode[] = [];
  const stack = [n];
  const seen = new Set<AstNode>();
  while (stack.length > 0) {
    const c = stack.pop() as AstNode;
    if (seen.has(c)) continue;
    seen.add(c);
    out.push(c);
    if (c !== n && !intoFunctions && isFunction(c)) continue;
    const cs = children(c);
    for (let i = cs.length - 1; i >= 0; i--) stack.push(cs[i] as AstNode);
  }
  return out;
}

export function position(n: AstNode): { line: number; column: number } {
  return { line: n.loc.start.line, column: n.loc.start.column };
}

/** A name from the code as a message shows it: at most 64 characters. */
export function shown(name: string): string {
  return name.length <= 64 ? name : `${name.slice(0, 61)}...`;
}
