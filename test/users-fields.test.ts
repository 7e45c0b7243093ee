import { describe, expect, test } from 'bun:test'
import { AGE_RANGE, EMAIL_LENGTH, NAME_LENGTH } from '../src/users/fields'
import { testDatabase } from './support/database'

// The table's CHECK constraints and the field rules are two statements of one rule: a change to
// one alone would let the API accept what the database refuses (a 500) or refuse what it allows.
describe('the user field rules agree with the users table', () => {
  test('CHECK constraints, as the database reports them', async () => {
    const { sql } = await testDatabase()
    const rows = await sql<{ definition: string }[]>`
      select pg_get_constraintdef(oid) as definition from pg_constraint
      where conrelid = 'users'::regclass and contype = 'c' order by conname`
    const bounds = (expression: RegExp) => {
      const found = rows.map(({ definition }) => expression.exec(definition)).find(Boolean)
      if (!found) throw new Error(`no CHECK constraint like ${expression} in ${JSON.stringify(rows)}`)
      return [Number(found[1]), Number(found[2])]
    }
    expect(bounds(/char_length\(name\) >= (\d+)\).*char_length\(name\) <= (\d+)\)/)).toEqual([NAME_LENGTH.minLength, NAME_LENGTH.maxLength])
    expect(bounds(/char_length\(email\) >= (\d+)\).*char_length\(email\) <= (\d+)\)/)).toEqual([EMAIL_LENGTH.minLength, EMAIL_LENGTH.maxLength])
    expect(bounds(/\(age >= (\d+)\).*\(age <= (\d+)\)/)).toEqual([AGE_RANGE.minimum, AGE_RANGE.maximum])
  })
})
