-- A request with an Idempotency-Key claims the key before any work: its row is in progress while
-- `claim_token` is set (the token of the request holding it), and the answer replaces it. Until
-- then the row reads as a kept 409 "still in progress", so that a process of the previous version,
-- during a rolling upgrade, answers a retry with a 4xx rather than a 500.
alter table idempotency_keys add column claim_token text;
