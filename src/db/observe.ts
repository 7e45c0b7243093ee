/**
 * Watching the queries the service runs (through `withDeadline`), for metrics and traces, without
 * this layer knowing either: an observer is told a query's operation as it starts, and the
 * function it returns is told how the query ended. With no observer, nothing is done per query.
 */

/** Called as a query starts; the function it returns is called once as it ends (`error` if it failed). */
export type QueryObserver = (operation: QueryOperation) => (error?: unknown) => void

const OPERATIONS = ['select', 'insert', 'update', 'delete', 'with'] as const
/** The SQL verb a query starts with; `other` for anything else (the set of values stays bounded). */
type QueryOperation = (typeof OPERATIONS)[number] | 'other'

const observers: QueryObserver[] = []

/** Adds `observer`; the function returned removes it. */
export const observeQueries = (observer: QueryObserver) => {
  observers.push(observer)
  return () => {
    const index = observers.indexOf(observer)
    if (index >= 0) observers.splice(index, 1)
  }
}

// postgres.js keeps a tagged query's template strings; the first word of the first one is the verb.
const operationOf = (query: object): QueryOperation => {
  const first = (query as { strings?: readonly string[] }).strings?.[0]
  const verb = first?.trimStart().slice(0, 6).toLowerCase()
  return OPERATIONS.find((operation) => verb?.startsWith(operation)) ?? 'other'
}

/** Tells the observers that `query` starts; undefined (nothing to do) when there is none. */
export const queryStarted = (query: object): ((error?: unknown) => void) | undefined => {
  if (observers.length === 0) return undefined
  const operation = operationOf(query)
  if (observers.length === 1) return observers[0]!(operation)
  const ends = observers.map((observer) => observer(operation))
  return (error) => {
    for (const end of ends) end(error)
  }
}
