"""Running the tutor for a school: model provisioning checks, backups that restore, one doctor report,
structured logs and the systemd unit. Each part is a plain function the CLI, `serve` and the admin page call.

- `modelcheck` (`mathtutor model check`), `gpu` (the GPUs and their free memory), `startup` (what `serve`
  does before it listens: backup before a migration, model check, preload)
- `backup` (`mathtutor backup` / `restore`), `doctor` (`mathtutor doctor`) on `checks` (ok/warn/fail verdicts)
- `logs` (plain or JSON log lines with request ids), `mathtutor.service` (the systemd unit)
"""
