"""Remotes: the only part of qxub that talks SSH.

`ssh.py` is the OpenSSH transport: the one module that builds `ssh` command lines. Every remote
command goes through it as a list of already-quoted shell lines, over one multiplexed master
connection per host that the sync, the submit, the status and the watch all share.
"""
