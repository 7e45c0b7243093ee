// Imported as text so a compiled binary carries them; test/migrations.test.ts checks that every
// file in migrations/ is listed here, in order.
import createUsers from '../../migrations/0001_create_users.sql' with { type: 'text' }
import accounts from '../../migrations/0002_accounts.sql' with { type: 'text' }
import safeRetries from '../../migrations/0003_safe_retries.sql' with { type: 'text' }
import nameTrigram from '../../migrations/0004_name_trigram.sql' with { type: 'text' }
import nameStatistics from '../../migrations/0005_name_statistics.sql' with { type: 'text' }
import idempotencyPassword from '../../migrations/0006_idempotency_password.sql' with { type: 'text' }
import sweepIndexes from '../../migrations/0007_sweep_indexes.sql' with { type: 'text' }
import idempotencyClaims from '../../migrations/0008_idempotency_claims.sql' with { type: 'text' }

export interface Migration {
  version: string
  sql: string
}

export const migrations: readonly Migration[] = [
  { version: '0001_create_users', sql: createUsers },
  { version: '0002_accounts', sql: accounts },
  { version: '0003_safe_retries', sql: safeRetries },
  { version: '0004_name_trigram', sql: nameTrigram },
  { version: '0005_name_statistics', sql: nameStatistics },
  { version: '0006_idempotency_password', sql: idempotencyPassword },
  { version: '0007_sweep_indexes', sql: sweepIndexes },
  { version: '0008_idempotency_claims', sql: idempotencyClaims },
]
