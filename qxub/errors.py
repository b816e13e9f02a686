"""The one error family of qxub: every error says what happened and what to do next."""

from __future__ import annotations

# qxub's own exit codes; a job that ran gives its own. Usage errors exit 2 (UsageError.exit_code).
EXIT_ERROR = 1
EXIT_BUG = 3  # an internal error: a bug, with its traceback saved
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`| head`), as a shell reports SIGPIPE


class QxubError(Exception):
    """An error a user can cause or fix. Printed as one line plus a hint, never a traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(QxubError):
    """Bad command-line input (exit 2, like click's own usage errors)."""

    exit_code = 2


class ConfigError(QxubError):
    """A config file that cannot be read, parsed or validated."""


class ResourceError(UsageError):
    """A resource value (memory, time, ...) that cannot be parsed."""


class SchedulerError(QxubError):
    """The scheduler refused or failed a request (submit, status, cancel)."""


class JobNotFound(QxubError):
    """No record of a job with that id."""


class JobLost(QxubError):
    """A job ended without recording its exit code and the scheduler no longer knows it."""


class CommandFailed(QxubError):
    """A local helper process failed; the message shows argv, exit code and stderr's tail."""
