"""Actors: one task per space serialises its bookings; a timer actor enforces deadlines."""
