"""Core API domain: authentication, accounts, portfolio."""
