/**
 * What the training loop reads: fixed-size float rows — decoded images, or the activations of a frozen
 * prefix — by index. Where the rows live (an array in memory, a file on disk, a decoding worker) is the
 * store's business; the loop only asks for the rows of the next batch.
 */

export interface RowStore {
  /** Shape of one row (an image: [height, width, channels]; an activation: the layer's output shape). */
  readonly rowShape: readonly number[];
  /**
   * Copies the rows at `indices` into `out` (indices.length × rowSize floats, in `indices` order). A store
   * that has to wait (a decoding worker) returns a promise; one in memory copies at once.
   */
  read(indices: ArrayLike<number>, out: Float32Array): void | Promise<void>;
  /** Releases files or workers the store holds. */
  close?(): void | Promise<void>;
}

/** One split (training or validation) as the training loop sees it. */
export interface DataSplit {
  rows: RowStore;
  /** Class index of each row. */
  labels: Int32Array;
  /** Path of each row's image relative to the dataset folder (for summary.json). */
  files: string[];
  count: number;
}

export function rowSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rows held in one Float32Array (count × rowSize). */
export function memoryRows(data: Float32Array, rowShape: readonly number[]): RowStore {
  const size = rowSize(rowShape);
  return {
    rowShape,
    read(indices, out) {
      for (let i = 0; i < indices.length; i++) {
        const k = indices[i];
        out.set(data.subarray(k * size, (k + 1) * size), i * size);
      }
    },
  };
}

/**
 * A view of `store` whose row i is the store's row `rowIndex[i]`: one activation cache computed for the
 * whole dataset serves the training and the validation split. Closing the view leaves the store open.
 */
export function subsetRows(store: RowStore, rowIndex: Int32Array): RowStore {
  return {
    rowShape: store.rowShape,
    read(indices, out) {
      const mapped = new Int32Array(indices.length);
      for (let i = 0; i < indices.length; i++) mapped[i] = rowIndex[indices[i]];
      return store.read(mapped, out);
    },
  };
}
