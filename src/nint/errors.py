"""The exception types a user can cause; the CLI prints their message as a single line."""


class NintError(ValueError):
    """Bad input or configuration: a missing file, an unknown strategy, a ratio outside (0, 1]."""

    #: the CLI's exit status for this error
    exit_status = 2


class RunNotSaved(NintError):
    """A fit finished but its run folder could not be written; the message says where the run
    was kept instead (``nint.report.run_folder.save_or_rescue``)."""

    # 1, not 2: the input was good and the training ran; only the result is elsewhere
    exit_status = 1
