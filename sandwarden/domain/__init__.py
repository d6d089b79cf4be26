"""The pure domain: values, decisions and parsers; no I/O, no clocks."""
