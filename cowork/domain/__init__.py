"""Pure rules: no I/O, no framework types, `now` is always a parameter."""
