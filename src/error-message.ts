/** What a failure says of itself: an `Error`'s message, or anything else as text (for a log line or a start-up error). */
export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** What a log line says of a failure: its name, message and stack (the stack for the log alone, never for a client). */
export const errorDetail = (error: unknown) =>
  error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: 'Error', message: String(error), stack: undefined }
