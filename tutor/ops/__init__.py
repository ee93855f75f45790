"""Running the tutor for a school: model provisioning checks, backups that restore, one doctor report,
structured logs and the systemd unit. Each part is a plain function the CLI, `serve` and the admin page call."""
