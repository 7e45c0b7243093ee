/**
 * The preconditions of a change (`If-Match`, `If-None-Match`, `REQUIRE_IF_MATCH`), checked in the
 * change's own statement, so two writes with the same `If-Match` cannot both pass; and, when
 * nothing changed, which answer the client gets.
 */
import type { Sql } from 'postgres'
import { namesVersion } from '../http/conditional'
import { problems } from '../http/problems'

/**
 * The preconditions of a change: `ifMatch`, the versions it may replace, `'*'` for any, or none
 * sent; `ifNoneMatch`, the versions it must not replace (`'*'`: any, so none); `required`: a change
 * without `If-Match` is refused (428).
 */
export interface WriteCondition {
  ifMatch?: '*' | number[]
  ifNoneMatch?: '*' | number[]
  required?: boolean
}

/** What the statement of a change reports of the user as it found it. */
export interface Unchanged {
  found: boolean
  current_version: number | null
  last_admin: boolean
}

// A Postgres array literal of versions (none: `{}`, matching nothing).
const versionList = (versions: number[]) => `{${versions.join(',')}}`

const ifMatchSql = (sql: Sql, { ifMatch, required }: WriteCondition) =>
  ifMatch === undefined ? sql`${!required}` : ifMatch === '*' ? sql`true` : sql`version = any(${versionList(ifMatch)}::int[])`

const ifNoneMatchSql = (sql: Sql, { ifNoneMatch }: WriteCondition) =>
  ifNoneMatch === undefined ? sql`` : ifNoneMatch === '*' ? sql`and false` : sql`and version <> all(${versionList(ifNoneMatch)}::int[])`

/** The condition a write's `where` adds: the row is at a version `If-Match` allows and `If-None-Match` does not name. */
export const preconditionSql = (sql: Sql, condition: WriteCondition) => sql`${ifMatchSql(sql, condition)} ${ifNoneMatchSql(sql, condition)}`

/** The columns `found` and `current_version`: the user as the statement found it. */
export const unchangedSql = (sql: Sql, id: number) =>
  sql`exists (select 1 from users where id = ${id}) as found, (select version from users where id = ${id}) as current_version`

/** The 428 or 412 a change to a user at `version` gets, if any. */
export const preconditionRefusal = (condition: WriteCondition, version: number) => {
  if (condition.ifMatch === undefined && condition.required) return problems.preconditionRequired()
  if (condition.ifMatch !== undefined && !namesVersion(condition.ifMatch, version)) return problems.preconditionFailed('If-Match')
  if (condition.ifNoneMatch !== undefined && namesVersion(condition.ifNoneMatch, version)) return problems.preconditionFailed('If-None-Match')
  return undefined
}

/**
 * Why a change did not happen, in the documented order: 404 → 428/412 → 409; undefined when the
 * user as `row` found it allowed the change.
 */
const refusal = (row: Unchanged, condition: WriteCondition) => {
  if (!row.found) return problems.userNotFound()
  return preconditionRefusal(condition, row.current_version!) ?? (row.last_admin ? problems.lastAdmin() : undefined)
}

/**
 * Why a change did not happen. Its statement saw the user as the statement began (`row`); when
 * that allowed the change, another write changed or deleted the user before this one's turn came,
 * and `lookAgain` (a statement of its own, a fresh view) tells which: 404 for a user now gone,
 * else 412 for the header that was sent.
 */
export const whyUnchanged = async (row: Unchanged, condition: WriteCondition, lookAgain: () => Promise<Unchanged>) => {
  const refused = refusal(row, condition) ?? refusal(await lookAgain(), condition)
  if (refused) return refused
  if (condition.ifMatch !== undefined) return problems.preconditionFailed('If-Match')
  return condition.ifNoneMatch !== undefined ? problems.preconditionFailed('If-None-Match') : problems.userNotFound()
}
