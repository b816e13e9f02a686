"""Mirroring a local project to a remote: which files are pushed (ignore rules, project root),
how they are sent, and what comes back."""

# The file that marks a folder on a remote as the mirror of one project (never pulled home).
MARKER = ".qxub-mirror"

# The prefix of temporary names in a mirror (a file the SFTP engine is writing, a small push's
# staging folder): never the mirror's own files.
PART = ".qxub-part-"
