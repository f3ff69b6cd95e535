/**
 * The QuickJS WebAssembly module shared by all calls of one runtime, and the one thing that makes
 * sharing it deterministic: every call starts from the byte-identical module state.
 *
 * QuickJS's allocations go through the module's malloc (dlmalloc), whose choices depend on the
 * heap's history; where a heap bound is hit, and so whether a call runs out of memory, would then
 * depend on which calls this process ran before. So after loading, the engine takes a snapshot of
 * the module's static data and of its heap as it is before any runtime exists, and puts both back
 * before each call (a fresh QuickJS runtime and context are then created in that state and freed
 * at the end of the call). The shadow stack between them is not copied: nothing reads a stack slot
 * it has not written. The copy is about 100 KiB.
 *
 * The module's linear memory is created here with a fixed maximum, so the heap's hard bound is the
 * same on every peer.
 */
import variantImport from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';

// The package's ESM entry exports the variant as its default; its CommonJS typings describe the module.
const variant = variantImport as unknown as QuickJSSyncVariant;

/** The part of WebAssembly.Memory used here (the node's TypeScript lib does not declare WebAssembly). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const WasmMemoryCtor = (
  globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory } }
).WebAssembly.Memory;

/** The variant's own initial memory (its import's minimum), and the cap this engine puts on it. */
const INITIAL_PAGES = 256;
export const MAX_MEMORY_PAGES = 1280; // 80 MiB: 16 MiB of static data, stack and start heap, plus the heap's room
const WASM_PAGE = 65536;
/** The variant's shadow stack (STACK_SIZE); the baseline scan checks the layout agrees. */
const STACK_BYTES = 5 * 1024 * 1024;
const SCAN_PAGE = 4096;

interface Region {
  start: number;
  bytes: Uint8Array;
}

/** Thrown when the engine cannot guarantee a clean state: a trap in the module, or a layout it does not know. */
export class ContractEngineFault extends Error {}

export class QuickJSEngine {
  private broken: string | undefined;

  private constructor(
    readonly module: QuickJSWASMModule,
    private readonly memory: WasmMemory,
    private readonly regions: readonly Region[],
  ) {}

  static async load(): Promise<QuickJSEngine> {
    const memory = new WasmMemoryCtor({ initial: INITIAL_PAGES, maximum: MAX_MEMORY_PAGES });
    const module = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmMemory: memory as never }));
    return new QuickJSEngine(module, memory, baselineRegions(memory));
  }

  /** Puts the module back in its baseline state; every call begins with this. */
  reset(): void {
    if (this.broken !== undefined) throw new ContractEngineFault(`contract engine unusable: ${this.broken}`);
    const heap = new Uint8Array(this.memory.buffer);
    for (const r of this.regions) heap.set(r.bytes, r.start);
  }

  /** After a trap the module's stack pointer and host-side bookkeeping are unknown: refuse further calls. */
  markBroken(why: string): void {
    this.broken = why;
  }

  get usable(): boolean {
    return this.broken === undefined;
  }
}

/**
 * The regions to restore: every non-zero page of the baseline except the shadow stack's untouched
 * interior, i.e. [0, end of static data) and [top of stack, heap break). Checks that the zero gap
 * between them lies inside the stack (so no static variable is left out).
 */
function baselineRegions(memory: WasmMemory): Region[] {
  const heap = new Uint8Array(memory.buffer);
  const ranges: [number, number][] = [];
  let start = -1;
  for (let p = 0; p < heap.length; p += SCAN_PAGE) {
    let nonZero = false;
    for (let i = p; i < p + SCAN_PAGE; i++) {
      if (heap[i] !== 0) {
        nonZero = true;
        break;
      }
    }
    if (nonZero && start < 0) start = p;
    if (!nonZero && start >= 0) {
      ranges.push([start, p]);
      start = -1;
    }
  }
  if (start >= 0) ranges.push([start, heap.length]);
  // The largest run of zero pages is the stack's untouched interior; everything else is restored,
  // zero pages of static data included.
  let gapStart = 0;
  let gapEnd = 0;
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1] as [number, number];
    const cur = ranges[i] as [number, number];
    if (cur[0] - prev[1] > gapEnd - gapStart) {
      gapStart = prev[1];
      gapEnd = cur[0];
    }
  }
  const end = ranges.length === 0 ? 0 : (ranges[ranges.length - 1] as [number, number])[1];
  const gap = gapEnd - gapStart;
  if (gap < STACK_BYTES - 256 * 1024 || gap > STACK_BYTES || end > INITIAL_PAGES * WASM_PAGE) {
    throw new ContractEngineFault(
      'unexpected memory layout of the QuickJS module: the engine cannot guarantee a clean state',
    );
  }
  return [
    { start: 0, bytes: heap.slice(0, gapStart) },
    { start: gapEnd, bytes: heap.slice(gapEnd, end) },
  ];
}
