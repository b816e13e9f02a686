"""Remotes: the only part of qxub that talks SSH. It knows how to reach a remote and run scripts
there; what to send (the sync package) is joined to it one layer up, in `qxub.mirroring`.

`transport.Transport` is what callers use; `reach.transport_for` picks one: `openssh` (the only
module that builds `ssh` command lines, over one multiplexed master connection per host),
`paramiko/` (no `ssh` client), or `local`. `scripts` builds every remote script.
"""
