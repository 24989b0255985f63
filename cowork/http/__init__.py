"""HTTP: one blueprint per resource; thin handlers; problem+json errors."""
