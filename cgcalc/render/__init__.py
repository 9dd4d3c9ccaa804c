"""Ways to show a result: JSON for programs, Rich tables for people."""
