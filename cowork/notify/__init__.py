"""Delivery of notifications: Web Push, FCM, APNs and e-mail, fed by JetStream."""
