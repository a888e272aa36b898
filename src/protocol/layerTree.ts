/** The layer tree of a model, as shown in the Layers view and printed by `finetune layers`. */
export interface LayerNode {
  /** Path name: nested layers are joined with '/', e.g. `outer/inner/conv_pw_1`. */
  path: string;
  name: string;
  className: string;
  /** Output shape with null for the batch dimension; several for multi-output layers. */
  outputShape: (number | null)[] | (number | null)[][];
  trainableParams: number;
  nonTrainableParams: number;
  /** Present for nested models (Sequential / functional Model used as a layer). */
  children?: LayerNode[];
  /**
   * The layers whose outputs this one reads: paths of layers in the same model, or the path of the
   * enclosing nested model for that model's own input ('' for the base model's input). Absent when the
   * file does not say (then the previous layer is assumed, as in a Sequential). Valid head cuts are
   * computed from these (src/core/portable/cutPoints.ts).
   */
  inputs?: string[];
  /** Nested models: the path of the child whose output is the model's output. */
  output?: string;
}
