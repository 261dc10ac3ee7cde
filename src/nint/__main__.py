"""``python -m nint`` is the ``nint`` command."""

from .cli import main

raise SystemExit(main())
