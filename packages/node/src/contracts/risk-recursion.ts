/**
 * The `recursion` rule of the risk check: a call graph between named functions, and its cycles
 * (strongly connected components, found iteratively so that a long call chain cannot overflow the
 * host's stack).
 */
import {
  type Ast,
  type AstNode,
  enclosingFunction,
  isFunction,
  isMember,
  memberName,
  nameOf,
  shown,
} from './risk-ast.js';
import type { RiskRuleId } from './risk-score.js';

/** Reports a finding of `rule` at `node`. */
export type Add = (rule: RiskRuleId, node: AstNode, message: string) => void;

/** Functions that call themselves, directly or through a cycle of named functions. */
export function recursion(ast: Ast, add: Add): void {
  // Named functions: declarations, `const f = function/arrow`, `exports.f = function`.
  const byName = new Map<string, AstNode>();
  const nameOfFn = new Map<AstNode, string>();
  for (const n of ast.nodes) {
    let name: string | undefined;
    let fn: AstNode | undefined;
    if (n.type === 'FunctionDeclaration' && n.id !== null) [name, fn] = [nameOf(n.id), n];
    else if (n.type === 'VariableDeclarator' && n.init !== null && isFunction(n.init as AstNode))
      [name, fn] = [nameOf(n.id), n.init as AstNode];
    else if (
      n.type === 'AssignmentExpression' &&
      isMember(n.left as AstNode, 'exports') &&
      isFunction(n.right as AstNode)
    ) {
      const m = memberName(n.left as AstNode);
      if (m !== undefined) [name, fn] = [`exports.${m}`, n.right as AstNode];
    }
    if (name === undefined || fn === undefined || byName.has(name)) continue;
    byName.set(name, fn);
    nameOfFn.set(fn, name);
  }
  const edges = new Map<string, Set<string>>();
  const callSite = new Map<string, AstNode>();
  for (const n of ast.nodes) {
    if (n.type !== 'CallExpression') continue;
    const callee = n.callee as AstNode;
    const target =
      callee.type === 'Identifier'
        ? (callee.name as string)
        : isMember(callee, 'exports')
          ? `exports.${memberName(callee) ?? ''}`
          : undefined;
    if (target === undefined || !byName.has(target)) continue;
    let from: string | undefined;
    for (let f = enclosingFunction(ast, n); f !== undefined && from === undefined; f = enclosingFunction(ast, f))
      from = nameOfFn.get(f);
    if (from === undefined) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    (edges.get(from) as Set<string>).add(target);
    if (!callSite.has(`${from}>${target}`)) callSite.set(`${from}>${target}`, n);
  }
  for (const scc of components([...byName.keys()], edges)) {
    const self = scc.length === 1 && edges.get(scc[0] as string)?.has(scc[0] as string) === true;
    if (scc.length < 2 && !self) continue;
    const names = [...scc].sort();
    for (const name of names) {
      const others = names.filter((n) => n !== name);
      const listed = others.slice(0, 3).map(shown).join(', ');
      const more = others.length > 3 ? ` and ${others.length - 3} more` : '';
      const how = self ? 'calls itself' : `is in a call cycle with ${listed}${more}`;
      add(
        'recursion',
        byName.get(name) as AstNode,
        `function ${shown(name)} ${how}: recursion depth is bounded only by the stack limit`,
      );
    }
  }
}

/** Strongly connected components (Tarjan's algorithm, iterative). */
function components(nodes: string[], edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: [string, string[]][] = [];
    const enter = (v: string) => {
      index.set(v, next);
      low.set(v, next);
      next++;
      stack.push(v);
      onStack.add(v);
      work.push([v, [...(edges.get(v) ?? [])]]);
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1] as [string, string[]];
      const [v, pending] = top;
      const w = pending.shift();
      if (w !== undefined) {
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent[0], Math.min(low.get(parent[0]) as number, low.get(v) as number));
      if (low.get(v) === index.get(v)) {
        const scc: string[] = [];
        let x: string;
        do {
          x = stack.pop() as string;
          onStack.delete(x);
          scc.push(x);
        } while (x !== v);
        out.push(scc);
      }
    }
  }
  return out;
}
