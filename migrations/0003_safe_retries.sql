-- Conditional and idempotent requests.

-- A user's version: moves with every change, so the ETag made from it differs after each one (a
-- timestamp can repeat within a millisecond).
alter table users add column version integer not null default 1;

-- The answers kept for `Idempotency-Key` on POST /users, for 24 hours: per token user (`owner`;
-- 0 without a token, as user ids start at 1), with the SHA-256 of the request body as parsed.
create table idempotency_keys (
  owner        bigint      not null,
  key          text        not null,
  fingerprint  text        not null,
  status       smallint    not null,
  body         text        not null,
  location     text,
  etag         text,
  created_at   timestamptz not null default now(),
  primary key (owner, key)
);
create index idempotency_keys_created on idempotency_keys (created_at);
