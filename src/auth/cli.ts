/**
 * `users-api create-admin EMAIL` and `users-api unlock EMAIL`. The password is read from standard
 * input: typed without echo on a terminal, or the first line of a pipe.
 */
import { Value } from '@sinclair/typebox/value'
import type { Config } from '../config'
import { EnvSchema } from '../environment'
import { openDatabase } from '../db/connect'
import { migrate } from '../db/migrate'
import { errorMessage } from '../error-message'
import { WeakPassword, createOrPromoteAdmin, unlockEmail } from './first-admin'
import { plainRuleBreach } from './password-rules'

const readHidden = (prompt: string) =>
  new Promise<string>((resolve) => {
    const stdin = process.stdin
    process.stderr.write(prompt)
    stdin.setRawMode(true)
    let typed = ''
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\u0003') process.exit(130)
        if (char === '\r' || char === '\n') {
          stdin.setRawMode(false)
          stdin.off('data', onData)
          stdin.pause()
          process.stderr.write('\n')
          return resolve(typed)
        }
        typed = char === '\u007f' || char === '\b' ? [...typed].slice(0, -1).join('') : typed + char
      }
    }
    stdin.on('data', onData)
  })

const readPassword = async () => {
  if (process.stdin.isTTY) return readHidden('password (not shown): ')
  return (await Bun.stdin.text()).split(/\r?\n/, 1)[0] ?? ''
}

const withDatabase = async <T>(config: Config, work: (sql: Awaited<ReturnType<typeof openDatabase>>['sql']) => Promise<T>) => {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolMax: 1, prepare: config.databasePrepare, statementTimeoutMs: config.requestTimeout })
  try {
    await migrate(database.sql)
    return await work(database.sql)
  } finally {
    await database.close()
  }
}

/** Runs `create-admin` or `unlock` for `email`; returns the exit code. */
export const runAccountCommand = async (command: 'create-admin' | 'unlock', email: string, config: Config): Promise<number> => {
  if (!Value.Check(EnvSchema.properties.ADMIN_EMAIL, email)) {
    console.error(`${command}: not an email address (local@domain.tld, as the API accepts)`)
    return 2
  }
  email = email.trim()
  try {
    if (command === 'unlock') {
      const forgotten = await withDatabase(config, (sql) => unlockEmail(sql, email))
      console.log(`unlocked ${email} (${forgotten} failed logins forgotten)`)
      return 0
    }
    const password = await readPassword()
    if (password === '') {
      console.error(`${command}: no password given: type it when asked, or send it on standard input`)
      return 2
    }
    // The rules that need neither the dictionary nor the data, before anything is opened or made.
    const breach = plainRuleBreach(password, { email })
    if (breach) {
      console.error(`${command}: the password ${breach}`)
      return 1
    }
    const outcome = await withDatabase(config, (sql) => createOrPromoteAdmin(sql, email, password))
    console.log(outcome === 'created' ? `admin ${email} created` : `${email} is now an admin, with the new password`)
    return 0
  } catch (error) {
    if (error instanceof WeakPassword) console.error(`${command}: ${error.message}`)
    else console.error(`${command} failed: ${errorMessage(error)}`)
    return 1
  }
}
