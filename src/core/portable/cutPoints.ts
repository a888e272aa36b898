/**
 * Where the new head can go: the valid `head.cutAt` values of a layer tree, why the others are not, and
 * the default cut. Pure (no TensorFlow.js): the engine checks `head.cutAt` with it before surgery, and the
 * host's Layers view offers "Set As Head Cut" only where it says yes — on trees from `--describe` and from
 * model.json read as JSON alike (both fill `LayerNode.inputs` / `output`).
 *
 * A cut keeps the cut layer and everything before it (in execution order) and replaces everything after
 * by the head, which reads one tensor. So a cut after leaf k works exactly when the output of leaf k is
 * the only tensor that layers after k (or the model's output) read from layers up to k — the same rule
 * the activation cache applies to its frozen prefix. Inside a branch (a residual block's body while the
 * skip connection waits for the Add) two tensors cross, and no cut is possible there. A nested model is a
 * cut after its output layer. Leaves at any depth count alike: nesting is flattened first.
 */
import type { LayerNode } from '../../protocol/layerTree';

/** The model's input, as a source of tensors. */
const MODEL_INPUT = -1;

interface FlatLeaf {
  node: LayerNode;
  /** Indices of the leaves (or MODEL_INPUT) whose outputs this leaf reads. */
  sources: number[];
}

export interface CutAnalysis {
  /** Leaf and nested-model paths where a cut works, in execution order (containers before their leaves). */
  readonly valid: readonly string[];
  isValid(path: string): boolean;
  /**
   * Why a cut at `path` cannot work, as the end of a sentence that starts with `head.cutAt "<path>"`,
   * naming the branch and the cuts that would work; undefined when it works or the path is unknown.
   */
  problem(path: string): string | undefined;
  /** The leaf whose output a cut at `path` feeds to the head (the leaf itself, or a nested model's output leaf). */
  outputLeaf(path: string): string | undefined;
}

interface Placement {
  /** Path of the enclosing nested model ('' at the top). */
  parent: string;
  position: number;
  siblings: readonly LayerNode[];
}

/** Flattens the tree: leaves in execution order, each with the leaves it reads. */
function flatten(tree: readonly LayerNode[]): {
  leaves: FlatLeaf[];
  output: number;
  containerOutput: Map<string, number>;
  containers: LayerNode[];
} {
  const leaves: FlatLeaf[] = [];
  const leafIndex = new Map<string, number>();
  const containers = new Map<string, LayerNode>();
  const placement = new Map<string, Placement>();
  const place = (nodes: readonly LayerNode[], parent: string): void =>
    nodes.forEach((node, position) => {
      placement.set(node.path, { parent, position, siblings: nodes });
      if (node.children) {
        containers.set(node.path, node);
        place(node.children, node.path);
      } else {
        leafIndex.set(node.path, leaves.length);
        leaves.push({ node, sources: [] });
      }
    });
  place(tree, '');

  const containerOutput = new Map<string, number>();
  /** The leaf whose output is a nested model's output (its `output` child, else its last one). */
  const outputOf = (container: LayerNode, visiting = new Set<string>()): number => {
    const known = containerOutput.get(container.path);
    if (known !== undefined) return known;
    if (visiting.has(container.path)) return MODEL_INPUT;
    visiting.add(container.path);
    const children = container.children ?? [];
    const last = children.find((c) => c.path === container.output) ?? children[children.length - 1];
    const result = !last
      ? MODEL_INPUT
      : last.children
        ? outputOf(last, visiting)
        : (leafIndex.get(last.path) ?? MODEL_INPUT);
    containerOutput.set(container.path, result);
    return result;
  };

  /** What a node reads, resolved to leaves; a reference to the enclosing model is what feeds that model. */
  const sourcesOf = (node: LayerNode, visiting = new Set<string>()): number[] => {
    const { parent, position, siblings } = placement.get(node.path)!;
    const refs = node.inputs ?? [position === 0 ? parent : siblings[position - 1].path];
    return refs.flatMap((ref) => {
      if (ref === parent) {
        const enclosing = containers.get(parent);
        if (!enclosing || visiting.has(parent)) return [MODEL_INPUT];
        return sourcesOf(enclosing, new Set([...visiting, parent]));
      }
      const leaf = leafIndex.get(ref);
      if (leaf !== undefined) return [leaf];
      const container = containers.get(ref);
      return [container ? outputOf(container) : MODEL_INPUT];
    });
  };

  for (const leaf of leaves) leaf.sources = sourcesOf(leaf.node);
  for (const container of containers.values()) outputOf(container);
  const top = tree[tree.length - 1];
  const output = !top ? MODEL_INPUT : top.children ? outputOf(top) : (leafIndex.get(top.path) ?? MODEL_INPUT);
  return { leaves, output, containerOutput, containers: [...containers.values()] };
}

export function analyseCuts(tree: readonly LayerNode[]): CutAnalysis {
  const { leaves, output, containerOutput, containers } = flatten(tree);
  const n = leaves.length;
  // lastUse[s + 1]: the last leaf (n for the model's output) that reads leaf s's output (s = -1: the input).
  const lastUse = new Array<number>(n + 1).fill(Number.NEGATIVE_INFINITY);
  leaves.forEach((leaf, i) => {
    for (const s of leaf.sources) lastUse[s + 1] = Math.max(lastUse[s + 1], i);
  });
  lastUse[output + 1] = Math.max(lastUse[output + 1], n);
  /** Tensors produced up to leaf k (the input included) that something after k reads. */
  const crossing = (k: number): number[] => {
    const out: number[] = [];
    for (let s = MODEL_INPUT; s <= k; s++) if (lastUse[s + 1] > k) out.push(s);
    return out;
  };
  const leafOk = leaves.map((leaf, k) => {
    const shape = leaf.node.outputShape;
    const severalOutputs = shape.length > 0 && Array.isArray(shape[0]) && shape.length > 1;
    if (severalOutputs) return false;
    const c = crossing(k);
    // A leaf after the output (nothing reads it, the output does not depend on it) is no cut either.
    return c.length === 1 && c[0] === k && k <= output;
  });
  const validLeafIndex = leaves.map((_, k) => k).filter((k) => leafOk[k]);
  const pathOfLeaf = (k: number): string => (k === MODEL_INPUT ? 'the model input' : leaves[k].node.path);
  const leafIndex = new Map(leaves.map((l, i) => [l.node.path, i]));
  const containerPaths = new Set(containers.map((c) => c.path));

  const outputLeafIndex = (path: string): number | undefined => {
    if (leafIndex.has(path)) return leafIndex.get(path);
    if (containerPaths.has(path)) {
      const k = containerOutput.get(path);
      return k === undefined || k === MODEL_INPUT ? undefined : k;
    }
    return undefined;
  };
  const isValid = (path: string): boolean => {
    const k = outputLeafIndex(path);
    return k !== undefined && leafOk[k];
  };
  const valid: string[] = [];
  const visit = (nodes: readonly LayerNode[]): void => {
    for (const node of nodes) {
      if (isValid(node.path)) valid.push(node.path);
      if (node.children) visit(node.children);
    }
  };
  visit(tree);

  const problem = (path: string): string | undefined => {
    const k = outputLeafIndex(path);
    if (k === undefined) {
      return containerPaths.has(path) ? 'names a nested model whose output cannot be found' : undefined;
    }
    if (leafOk[k]) return undefined;
    const before = [...validLeafIndex].reverse().find((j) => j < k);
    const after = validLeafIndex.find((j) => j > k);
    const alternatives = [before, after]
      .filter((j): j is number => j !== undefined)
      .map((j) => `"${pathOfLeaf(j)}"`)
      .join(' or ');
    const shape = leaves[k].node.outputShape;
    if (shape.length > 1 && Array.isArray(shape[0]))
      return `names a layer with ${shape.length} outputs; the head reads one tensor. Cuts that work nearby: ${alternatives || 'none'}.`;
    const what = containerPaths.has(path) ? `ends at "${pathOfLeaf(k)}", which` : '';
    if (k > output)
      return `${what || 'names a layer that'} the model's output does not depend on. Cuts that work: ${alternatives || 'none'}.`;
    const skipping = crossing(k).filter((s) => s !== k);
    const from = before !== undefined ? `"${pathOfLeaf(before)}"` : 'the model input';
    const to = after !== undefined ? `"${pathOfLeaf(after)}"` : "the model's output";
    const skips = skipping
      .map((s) => {
        const reader = lastUse[s + 1];
        return `the output of ${s === MODEL_INPUT ? 'the model input' : `"${pathOfLeaf(s)}"`} skips past it to ${reader >= n ? "the model's output" : `"${pathOfLeaf(reader)}"`}`;
      })
      .join(', and ');
    return (
      `${what ? `${what} is` : 'is'} inside a branch between ${from} and ${to}: ${skips} (a residual or parallel connection), ` +
      `so the layers after the cut would read more than one tensor, and the head takes one. ` +
      `Cuts that work: ${
        [
          before !== undefined ? `${from} (before the branch)` : '',
          after !== undefined ? `${to} (where it joins)` : '',
        ]
          .filter(Boolean)
          .join(' or ') || 'none in this model'
      }.`
    );
  };

  return {
    valid,
    isValid,
    problem,
    outputLeaf: (path) => {
      const k = outputLeafIndex(path);
      return k === undefined ? undefined : leaves[k].node.path;
    },
  };
}

/**
 * The default cut: everything but the last Dense layer — the last valid cut before it. Undefined when the
 * model has no Dense layer (then `head.cutAt` must be set).
 */
export function defaultCutPath(tree: readonly LayerNode[], analysis = analyseCuts(tree)): string | undefined {
  const leaves: LayerNode[] = [];
  const collect = (nodes: readonly LayerNode[]): void =>
    nodes.forEach((n) => (n.children ? collect(n.children) : leaves.push(n)));
  collect(tree);
  for (let i = leaves.length - 1; i > 0; i--) {
    if (leaves[i].className !== 'Dense') continue;
    for (let j = i - 1; j >= 0; j--) if (analysis.isValid(leaves[j].path)) return leaves[j].path;
    return undefined;
  }
  return undefined;
}
