"""Adapters layer of sandwarden."""
