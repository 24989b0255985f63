"""Accounts: passwords, access tokens, refresh-token families, roles."""
