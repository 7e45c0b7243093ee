/**
 * The preconditions of a change (`If-Match`, `REQUIRE_IF_MATCH`), checked in the change's own
 * statement, so two writes with the same `If-Match` cannot both pass; and, when nothing changed,
 * which answer the client gets.
 */
import type { Sql } from 'postgres'
import { problems } from '../http/problems'

/**
 * The preconditions of a change: `ifMatch`, the versions it may replace, `'*'` for any, or none
 * sent; `required`: a change without `If-Match` is refused (428).
 */
export interface WriteCondition {
  ifMatch?: '*' | number[]
  required?: boolean
}

/** What the statement of a change reports of the user as it found it. */
export interface Unchanged {
  found: boolean
  current_version: number | null
  last_admin: boolean
}

// A Postgres array literal of the versions `If-Match` named (none: `{}`, matching nothing).
const versionList = (condition: WriteCondition) => `{${Array.isArray(condition.ifMatch) ? condition.ifMatch.join(',') : ''}}`

/** The condition a write's `where` adds: the row is at a version `If-Match` allows. */
export const preconditionSql = (sql: Sql, condition: WriteCondition) =>
  condition.ifMatch === undefined ? sql`${!condition.required}` : condition.ifMatch === '*' ? sql`true` : sql`version = any(${versionList(condition)}::int[])`

/** The columns `found` and `current_version`: the user as the statement found it. */
export const unchangedSql = (sql: Sql, id: number) =>
  sql`exists (select 1 from users where id = ${id}) as found, (select version from users where id = ${id}) as current_version`

/** The 428 or 412 a change to a user at `version` gets, if any. */
export const preconditionRefusal = (condition: WriteCondition, version: number) => {
  if (condition.ifMatch === undefined && condition.required) return problems.preconditionRequired()
  if (Array.isArray(condition.ifMatch) && !condition.ifMatch.includes(version)) return problems.preconditionFailed()
  return undefined
}

/** Why a change did not happen, in the documented order: 404 → 428/412 → 409. */
export const refusal = (row: Unchanged, condition: WriteCondition) => {
  if (!row.found) return problems.userNotFound()
  const refused = preconditionRefusal(condition, row.current_version!)
  if (refused) return refused
  if (row.last_admin) return problems.lastAdmin()
  // The user matched when the statement began but changed before its turn came: another write won.
  return condition.ifMatch === undefined ? problems.userNotFound() : problems.preconditionFailed()
}
