"""Joint debugging from captured traffic: the report of a capture, the comparison of a call
that works with one that fails, and the signature check (see README.md here)."""
