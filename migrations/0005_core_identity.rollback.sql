drop table if exists core.ip_allowlist, core.risk_settings, core.api_keys, core.accounts,
    core.refresh_tokens, core.refresh_families, core.users;
