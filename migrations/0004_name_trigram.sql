-- The name filter (`GET /users?name=`) is a substring match, `name ilike '%...%'`, which a b-tree
-- cannot serve: without this index a rare substring, or one nobody has, reads the whole table.
-- A trigram index answers it (for substrings of three characters or more) once the table is
-- large enough for the planner to prefer it.
-- pg_trgm is a trusted extension (PostgreSQL 13+): a role that may create in the database may add it.
create extension if not exists pg_trgm;

create index users_name_trgm on users using gin (name gin_trgm_ops);
