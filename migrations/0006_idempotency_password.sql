-- The fingerprint of a kept POST /users no longer covers the password: a SHA-256 of a body whose
-- other fields the kept answer shows let anyone holding this table guess the password offline at
-- hashing speed. The password is kept as its argon2id hash instead, as users keep theirs.
alter table idempotency_keys add column password_hash text;

-- Fingerprints made before held the password: dropped. A retry of such a request runs again (the
-- same body then finds its email taken: 409, no second user).
delete from idempotency_keys;
