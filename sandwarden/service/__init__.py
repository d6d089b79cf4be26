"""Service layer of sandwarden."""
