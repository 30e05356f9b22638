"""Differences between two recordings: their requests as JSON paths (`requests`), and what
the diff and compare pages build on them."""
