/**
 * An error caused by the user's input (experiment file, dataset, model files). Its message is complete
 * and readable on its own — what is wrong, where, and how to fix it — so the CLI prints it as one line
 * without a stack trace and the extension shows it as is.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** File the problem is in, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** Message of any thrown value, for logs and run.json. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
