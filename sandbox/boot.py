"""Kernel-side bootstrap, run INSIDE the sandbox as `python -I -c <this source> <json>`.

It fixes the limits before any untrusted code exists (a hard rlimit cannot be raised again
without privileges), preloads modules so warm kernels answer fast, then becomes an ipykernel.
Nothing here is trusted by the host: the host re-checks everything it receives.
"""

import json
import resource
import sys


def _capped(write, written, cap):
    # Cooperative output cap: a print loop stops producing messages early instead of flooding
    # the channel. Hostile code can bypass it; the host enforces its own cap and a size limit.
    def capped_write(text):
        if written[0] > cap:
            return len(text)
        written[0] += len(text)
        return write(text[: max(0, cap - written[0] + len(text)) + 1])
    return capped_write


def main(cfg):
    for name, value in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    for mod in cfg["preload"]:
        __import__(mod)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", cfg["connection_file"], "--HistoryManager.enabled=False", "--IPKernelApp.parent_handle=0"])
    app.shell.run_line_magic("colors", "nocolor")
    written = [0]
    app.shell.events.register("pre_execute", lambda *a: written.__setitem__(0, 0))
    for stream in (sys.stdout, sys.stderr):
        stream.write = _capped(stream.write, written, cfg["max_output"])
    sys.argv = sys.argv[:1]
    app.start()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
