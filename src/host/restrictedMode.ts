/**
 * What Workspace Trust's Restricted Mode holds back, in words (no vscode import: the trainer-process wrapper
 * and the model describer use it and are tested in plain Node). See workspaceTrust.ts for the gate.
 */
export type TrustedAction = 'train' | 'readModel' | 'exportOnnx' | 'analyzeData';

/** Why an action waits for trust, in the words shown to the user. */
export function restrictedModeMessage(action: TrustedAction, target?: string): string {
  const what =
    action === 'train'
      ? `Training${target ? ` ${target}` : ''} is disabled in Restricted Mode`
      : action === 'exportOnnx'
        ? `Exporting ${target ?? 'a model'} to ONNX is disabled in Restricted Mode`
        : action === 'analyzeData'
          ? `Finding label issues and Grad-CAM${target ? ` for ${target}` : ''} are disabled in Restricted Mode`
          : `Reading the layers of ${target ?? 'the base model'} is disabled in Restricted Mode`;
  return (
    `${what}: it runs TensorFlow.js and the image decoder on this workspace's model and image files, ` +
    'which an untrusted folder may have crafted. Trust the workspace to enable it; runs, experiment ' +
    'files and datasets can be browsed meanwhile.'
  );
}

/** Shown with the layers in Restricted Mode, where they are read from model.json as text. */
export const RESTRICTED_LAYERS_NOTE =
  'Restricted Mode: the layers are read from model.json as text — names and nesting only. Output shapes and ' +
  'parameter counts (TensorFlow.js) and training need a trusted workspace.';
