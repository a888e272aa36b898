/** Confusion matrix and per-class precision / recall / F1 from predictions (pure). */
import type { ClassMetrics, MisclassifiedImage, Prediction, RunSummary } from '../../protocol/runRecord';

export type { Prediction };

export function confusionMatrix(predictions: Prediction[], numClasses: number): number[][] {
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (const p of predictions) matrix[p.trueIndex][p.predictedIndex] += 1;
  return matrix;
}

export function classMetrics(matrix: number[][], classNames: string[]): ClassMetrics[] {
  return classNames.map((className, k) => {
    const tp = matrix[k][k];
    const support = matrix[k].reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((n, row) => n + row[k], 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { className, precision, recall, f1, support };
  });
}

export function buildSummary(
  predictions: Prediction[],
  classNames: string[],
  epoch: number,
  valLoss: number,
): RunSummary {
  const confusion = confusionMatrix(predictions, classNames.length);
  const correct = predictions.filter((p) => p.trueIndex === p.predictedIndex).length;
  const misclassified: MisclassifiedImage[] = predictions
    .filter((p) => p.trueIndex !== p.predictedIndex)
    .map((p) => ({
      file: p.file,
      trueClass: classNames[p.trueIndex],
      predictedClass: classNames[p.predictedIndex],
      confidence: p.confidence,
    }));
  return {
    epoch,
    classNames,
    confusion,
    perClass: classMetrics(confusion, classNames),
    accuracy: predictions.length === 0 ? 0 : correct / predictions.length,
    val_loss: valLoss,
    misclassified,
    predictions,
  };
}
