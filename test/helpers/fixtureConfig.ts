/** A resolved ExperimentConfig for tests: every default applied (deep copies), then the test's overrides. */
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';

export function experimentConfig(overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const defaults = structuredClone(DEFAULTS);
  return {
    name: 'test',
    baseModel: '/nowhere/model.json',
    dataset: { path: '/nowhere', imageSize: [16, 16], ...defaults.dataset },
    layers: {},
    head: defaults.head,
    regularization: defaults.regularization,
    augmentation: defaults.augmentation,
    training: defaults.training,
    ...overrides,
  };
}
