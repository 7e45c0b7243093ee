/**
 * Sends `text` as it is to a server on 127.0.0.1:`port` and returns what came back (status line,
 * headers and body) once the server closes the connection: for requests fetch cannot make.
 */
export const rawRequest = async (port: number, text: string) => {
  const chunks: string[] = []
  const { promise, resolve } = Promise.withResolvers<string>()
  await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      open: (socket) => void socket.write(text),
      data: (_, data) => void chunks.push(data.toString()),
      close: () => resolve(chunks.join('')),
    },
  })
  return promise
}
