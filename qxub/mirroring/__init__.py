"""Mirroring: the use cases that join `qxub.sync` (what to send, the engines, the records) to
`qxub.remote` (how to reach the remote). Push, pull, watch, the mirror's place and marker, the
choice of sync engine, `qxub remote test` and `exec --remote` with --sync/--pull live here;
`remote/` knows nothing of syncing and `sync/` nothing of SSH."""
