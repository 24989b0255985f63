"""Realtime: NATS bus, outbox relay, per-node hub, SSE, websocket, presence."""
