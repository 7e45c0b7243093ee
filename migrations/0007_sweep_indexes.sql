-- Failed logins older than the longest throttling window, and refresh-token families with no
-- unexpired token left, no longer count for anything: the service deletes them a batch at a time.
-- These indexes let it find them without reading the whole table.
create index login_failures_failed_at on login_failures (failed_at);
create index refresh_tokens_expires_at on refresh_tokens (expires_at);
