/**
 * src has no import cycles: every module can be understood (and loaded)
 * after the modules it imports. Static imports and re-exports count, type-only
 * ones too (a type cycle is the same tangle); `import()` of a heavy
 * dependency that loads only when a store is created does not.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The src modules a file imports statically (`import ... from`, `export ... from`, `import '...'`). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const statement = /^\s*(?:import|export)\b[^'"`;]*?(?:from\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) out.push(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

/** Every cycle's modules (one path per strongly connected component), by Tarjan's algorithm. */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.reverse());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe('import graph of src', () => {
  it('finds a cycle when there is one (the walk itself works)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cyclesOf(g)).toEqual([['a', 'b', 'c']]);
    expect(importsOf('/x/y.ts', "import type { A } from './a.js';\nexport { b } from '../b.js';\nimport './c.js';\nconst m = await import('./lazy.js');\n")).toEqual(['/x/a.ts', '/b.ts', '/x/c.ts']);
  });

  it('has no import cycles', () => {
    const files = sourceFiles(SRC);
    const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));
    // Every import names a module that exists: a mis-resolved path would hide a cycle.
    for (const [file, deps] of graph) for (const d of deps) expect(graph.has(d), `${path.relative(SRC, file)} imports ${path.relative(SRC, d)}`).toBe(true);
    // Each entry: modules that import each other, directly or through the others listed.
    const cycles = cyclesOf(graph).map((c) => c.map((f) => path.relative(SRC, f)).join(', '));
    expect(cycles).toEqual([]);
  });
});
