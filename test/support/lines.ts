/**
 * The lines a child process writes, as they arrive. A separate module so the bench can use it
 * without loading test/support/process.ts (which copies the binary under test on import). A last
 * line cut off without its newline (a process killed mid-write) is dropped: it would not parse.
 */
export async function* readLines(output: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of output) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline
    while ((newline = buffer.indexOf('\n')) >= 0) {
      yield buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
    }
  }
}
