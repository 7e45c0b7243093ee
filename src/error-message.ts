/** What a failure says of itself: an `Error`'s message, or anything else as text (for a log line or a start-up error). */
export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error))
