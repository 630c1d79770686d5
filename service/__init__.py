"""Varistore: a multi-tenant variable store that speaks the VariPass API."""
