/**
 * Apply Best Trial as text edits: the winning trial's values written into the experiment file. The values
 * are set one after another (a later one may create an object an earlier one added), then the change is
 * reduced to one replacement of the part of the text that differs — one undo step in the editor, and the
 * comments and layout around it untouched. Pure: unit-tested without VS Code.
 */
import type { Edit, FormattingOptions } from 'jsonc-parser';
import type { ParamValue } from '../../protocol/sweepConfig';
import { applyParams } from '../../core/sweep/trialExperiment';

export function paramEdits(
  text: string,
  params: Record<string, ParamValue>,
  formatting: FormattingOptions,
): Edit[] {
  const changed = applyParams(text, params, formatting);
  if (changed === text) return [];
  let start = 0;
  while (start < text.length && start < changed.length && text[start] === changed[start]) start++;
  let endOld = text.length;
  let endNew = changed.length;
  while (endOld > start && endNew > start && text[endOld - 1] === changed[endNew - 1]) {
    endOld--;
    endNew--;
  }
  return [{ offset: start, length: endOld - start, content: changed.slice(start, endNew) }];
}
