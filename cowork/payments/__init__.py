"""Payments: the Stripe gateway and webhook handling."""
