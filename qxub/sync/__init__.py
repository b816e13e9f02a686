"""Mirroring a local project to a remote: which files are pushed (ignore rules, project root),
how they are sent, and what comes back."""

# The file that marks a folder on a remote as the mirror of one project (never pulled home).
MARKER = ".qxub-mirror"
