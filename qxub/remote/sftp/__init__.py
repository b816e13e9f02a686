"""SFTP file access for the SFTP sync engine, on paramiko's SFTP client: over a paramiko
connection, or over `ssh -s host sftp` riding the OpenSSH master."""
