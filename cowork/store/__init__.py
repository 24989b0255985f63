"""Persistence: Tortoise models and the queries that need more than the ORM."""
