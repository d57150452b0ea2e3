"""Mot Cua webhooks: dossier events pushed to agencies over signed HTTPS (Standard Webhooks)."""
