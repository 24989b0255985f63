"""Integrations with other systems: calendar feeds and operators' outgoing webhooks."""
