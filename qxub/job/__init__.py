"""What a job is, independent of where it runs."""
