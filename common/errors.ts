/**
 * The error every bad input raises, in every layer (main's file reader, the format registry, the engine):
 * its message names the file and the problem, and `file` says which file it is about.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}
