/**
 * TensorFlow.js activations (the `activation` of Conv2D / Dense / Activation layers) as ONNX ops, with
 * tfjs-layers' own constants. All act elementwise except softmax, which acts along the feature axis and
 * does not care how the features are ordered — so every one keeps a vector's feature order tag.
 */
import type { ConvertContext } from './convertContext';
import { OnnxRefusal, onnxAxis, type OnnxValue } from './onnxValue';

/** The activations TensorFlow.js 4.22 knows (tfjs-layers' ActivationIdentifier); all are exported. */
export const EXPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hardSigmoid',
  'tanh',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
  'softmax',
] as const;

/** `x` through `activation`; the identity for linear. */
export function applyActivation(
  cx: ConvertContext,
  x: OnnxValue,
  activation: unknown,
  stem: string,
): OnnxValue {
  const name = activation === undefined || activation === null ? 'linear' : String(activation);
  if (name === 'linear') return x;
  const g = cx.graph;
  const input = cx.name(x);
  const out = (tensor: string): OnnxValue => cx.value(tensor, x.shape, x.flattenedFrom);
  const unary = (op: string, attributes = {}): OnnxValue =>
    out(g.node(op, [input], `${stem}/${op}`, attributes));
  switch (name) {
    case 'relu':
      return unary('Relu');
    case 'relu6':
      return out(clip(cx, input, 0, 6, stem));
    case 'elu':
      return unary('Elu', { alpha: 1 });
    case 'selu':
      // ONNX's default alpha and gamma are the float32 values of tfjs' SELU constants.
      return unary('Selu');
    case 'sigmoid':
      return unary('Sigmoid');
    case 'hardSigmoid':
      // tfjs-layers: clip(0.2·x + 0.5, 0, 1), exactly ONNX's HardSigmoid with these alpha and beta.
      return unary('HardSigmoid', { alpha: 0.2, beta: 0.5 });
    case 'tanh':
      return unary('Tanh');
    case 'softplus':
      return unary('Softplus');
    case 'softsign':
      return unary('Softsign');
    case 'swish': {
      // x·sigmoid(x) (ONNX has no Swish before opset 24).
      const s = g.node('Sigmoid', [input], `${stem}/Sigmoid`);
      return out(g.node('Mul', [input, s], `${stem}/swish`));
    }
    case 'mish': {
      // x·tanh(softplus(x)) (ONNX's Mish is opset 18).
      const sp = g.node('Softplus', [input], `${stem}/Softplus`);
      const t = g.node('Tanh', [sp], `${stem}/Tanh`);
      return out(g.node('Mul', [input, t], `${stem}/mish`));
    }
    case 'gelu': {
      // x·0.5·(1 + erf(x/√2)), as tfjs-layers computes it (ONNX's Gelu is opset 20).
      const scaled = g.node('Div', [input, g.addScalar(`${stem}/sqrt2`, Math.SQRT2)], `${stem}/Div`);
      const erf = g.node('Erf', [scaled], `${stem}/Erf`);
      const onePlus = g.node('Add', [erf, g.addScalar(`${stem}/one`, 1)], `${stem}/Add`);
      const half = g.node('Mul', [input, g.addScalar(`${stem}/half`, 0.5)], `${stem}/Mul`);
      return out(g.node('Mul', [half, onePlus], `${stem}/gelu`));
    }
    case 'gelu_new': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), tfjs-layers' gelu_new.
      const x2 = g.node('Mul', [input, input], `${stem}/x2`);
      const x3 = g.node('Mul', [x2, input], `${stem}/x3`);
      const cubic = g.node('Mul', [x3, g.addScalar(`${stem}/c`, 0.044715)], `${stem}/cubic`);
      const inner = g.node('Add', [input, cubic], `${stem}/inner`);
      const scaled = g.node(
        'Mul',
        [inner, g.addScalar(`${stem}/k`, Math.sqrt(2 / Math.PI))],
        `${stem}/scaled`,
      );
      const t = g.node('Tanh', [scaled], `${stem}/Tanh`);
      const onePlus = g.node('Add', [t, g.addScalar(`${stem}/one`, 1)], `${stem}/onePlus`);
      const half = g.node('Mul', [input, g.addScalar(`${stem}/half`, 0.5)], `${stem}/half`);
      return out(g.node('Mul', [half, onePlus], `${stem}/gelu_new`));
    }
    case 'softmax':
      return unary('Softmax', { axis: onnxAxis(-1, x.shape.length) });
    case 'logSoftmax':
      return unary('LogSoftmax', { axis: onnxAxis(-1, x.shape.length) });
    default:
      throw new OnnxRefusal(`uses the activation "${name}", which has no ONNX conversion here.`);
  }
}

/** Clip(x, lo, hi) with opset 13's bounds as inputs; hi may be Infinity (no upper bound). */
export function clip(cx: ConvertContext, input: string, lo: number, hi: number, stem: string): string {
  const g = cx.graph;
  const bounds = [g.addScalar(`${stem}/min`, lo)];
  if (Number.isFinite(hi)) bounds.push(g.addScalar(`${stem}/max`, hi));
  return g.node('Clip', [input, ...bounds], `${stem}/Clip`);
}
