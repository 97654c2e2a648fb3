alter table core.api_keys drop constraint if exists api_keys_creation_key, drop column if exists creation_key;
