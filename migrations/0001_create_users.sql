-- Users: the service's one resource. Email uniqueness is case-insensitive and enforced here,
-- so concurrent creates cannot both win (the service maps the violation to 409).
create table users (
  id         bigint generated always as identity primary key,
  name       text        not null check (char_length(name) between 1 and 100),
  email      text        not null check (char_length(email) between 3 and 254),
  age        integer     not null check (age between 1 and 120),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index users_email_lower_key on users (lower(email));
