/** Bytes per stored weight value by dtype, as TensorFlow.js writes weight shards (no TensorFlow.js import). */
export const BYTES_PER_DTYPE: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  uint8: 1,
  uint16: 2,
  bool: 1,
  float16: 2,
};
