-- API key creation is idempotent per (user, Idempotency-Key): a retried POST /v1/api-keys finds the
-- key the first attempt created instead of minting a second credential. The secret is never kept
-- in a recoverable form, so a retry answers with the key's id and without the secret.
-- depends: 0005_core_identity

alter table core.api_keys
    add column creation_key text check (length(creation_key) between 1 and 64),
    add constraint api_keys_creation_key unique (user_id, creation_key);
