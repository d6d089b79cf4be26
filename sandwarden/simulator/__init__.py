"""Simulator layer of sandwarden."""
