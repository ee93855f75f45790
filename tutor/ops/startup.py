"""What `mathtutor serve` does for the admin before it listens: back up a store it is about to migrate,
check the model's files, and load the model at once when MATHTUTOR_PRELOAD asks for it."""

from __future__ import annotations

import time
from typing import Any, Callable

from tutor.settings import Settings

Echo = Callable[[str], None]


def migrate_store(settings: Settings, store: Any, echo: Echo) -> None:
    """Bring the store to head; an existing store behind the code is backed up first (BackupError, and no
    migration, when that backup cannot be taken)."""
    from tutor.ops.backup import backup_before_upgrade
    saved = backup_before_upgrade(settings, store)
    if saved is not None:
        echo(f"Backed up the store before migrating it ({saved.manifest['reason']}): {saved.path}")
    store.upgrade()


def check_model(settings: Settings, echo: Echo) -> bool:
    """The model check of the transformers backend's model, printed; False when it found a failure (the
    server still starts: admin pages work, and the report says what students will hit)."""
    if settings.solver.backend.split(":", 1)[0] != "transformers":
        return True
    from tutor.ops.modelcheck import check_model as inspect
    report = inspect(settings.solver.model, sessions=settings.web.max_concurrent_turns,
                     context_tokens=settings.solver.context_tokens, dtype=settings.solver.dtype)
    echo(report.text())
    if report.failed:
        echo("WARNING: the model check failed; students' questions will fail until it is fixed "
             "(`mathtutor model check` repeats it)")
    return not report.failed


def preload(settings: Settings, service: Any, echo: Echo) -> None:
    """Load the model now (MATHTUTOR_PRELOAD); a BackendError propagates so the start stops with its reason."""
    if not settings.solver.preload:
        return
    start = time.monotonic()
    backend = service.backend
    echo(f"Model loaded in {time.monotonic() - start:.1f} s: {getattr(backend, 'model_name', settings.solver.model)} "
         f"on {getattr(backend, 'device', '?')} ({getattr(backend, 'dtype', '?')})")
