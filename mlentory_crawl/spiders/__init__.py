"""Spiders: one module per source, routing and pagination only (no interpretation)."""
