/** Advice from the curves (issue 7): a rule's finding, the evidence, and suggestions that can be applied with a click. */
import type { LayerEdit } from './webviewMessages';

export type AdviceAction =
  { kind: 'setValue'; path: (string | number)[]; value: unknown } | { kind: 'layerEdit'; edit: LayerEdit };

export interface AdviceSuggestion {
  label: string;
  /** Absent when the suggestion is informational only. */
  action?: AdviceAction;
}

export interface Advice {
  id:
    | 'overfitting'
    | 'underfitting'
    | 'small-dataset'
    | 'diverging'
    | 'diverged'
    | 'learning-rate-low'
    | 'large-gap';
  severity: 'warning' | 'info';
  title: string;
  /** The numbers behind the finding, in words. */
  evidence: string;
  suggestions: AdviceSuggestion[];
}
