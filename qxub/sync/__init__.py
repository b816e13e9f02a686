"""Mirroring a local project to a remote: which files are pushed (ignore rules, project root),
how they are sent, and what comes back."""
