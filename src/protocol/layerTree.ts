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
}
