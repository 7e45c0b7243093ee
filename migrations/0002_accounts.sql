-- Accounts and access control. A user may have a role, a password (its argon2id hash only) and a
-- token version that moves whenever their password or role changes, so older access tokens die.
alter table users
  add column role text not null default 'user' check (role in ('user', 'admin')),
  add column password_hash text,
  add column token_version integer not null default 1;

create index users_admins on users (id) where role = 'admin';

-- Refresh tokens: the SHA-256 of the opaque token only. A family is one login's chain of
-- rotations; reusing a retired token revokes the whole family.
create table refresh_tokens (
  token_hash  bytea       primary key,
  family      uuid        not null,
  user_id     bigint      not null references users (id) on delete cascade,
  expires_at  timestamptz not null,
  retired_at  timestamptz,
  revoked_at  timestamptz
);
create index refresh_tokens_family on refresh_tokens (family);
create index refresh_tokens_user on refresh_tokens (user_id);

-- Failed logins, per lower-cased email and client address, for throttling (never a lockout).
create table login_failures (
  email      text        not null,
  client     text        not null,
  failed_at  timestamptz not null default clock_timestamp()
);
create index login_failures_email on login_failures (email, failed_at);

-- Signing keys generated at first start (when AUTH_SECRET is unset): written by the service
-- itself, insert-if-absent, never by a migration.
create table signing_keys (
  id          text        primary key,
  secret      bytea       not null,
  created_at  timestamptz not null default now()
);
