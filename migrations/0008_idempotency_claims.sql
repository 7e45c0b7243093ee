-- A request with an Idempotency-Key claims the key before any work: its row is in progress while
-- `claim_token` is set (the token of the request holding it), and the answer replaces it. Until
-- then the row reads as a kept 409 "still in progress", which is also what a process of an earlier
-- version, during a rolling upgrade, replays from it.
alter table idempotency_keys add column claim_token text;
