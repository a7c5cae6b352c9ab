"""Following a live record file: new lines as the module appends them, across truncation.

The module appends to its record file; when the file reaches `max_size` it stops writing (a `cap` drop
marker says so) until someone truncates the file, and then starts again from the top with a new header.
A follower must therefore notice that the file got shorter (or was replaced) and start over from the
beginning instead of waiting at an offset that no longer exists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

#: The module's parameter for a pid whose calls are never recorded (so the follower does not record
#: itself reading the file, which would feed on its own output).
EXCLUDE_PID_PARAM = "/sys/module/my_sysdig/parameters/exclude_pid"


def follow_lines(
    path: str | os.PathLike[str],
    *,
    from_start: bool = False,
    poll_s: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
    on_idle: Callable[[], None] | None = None,
    on_restart: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """Yield each complete line appended to `path` (Latin-1 text, with its "\\n") until `stop()`.

    Starts at the end of the file unless `from_start`. When no data is there, calls `on_idle` and sleeps
    `poll_s`. When the file shrinks or is replaced, `on_restart(reason)` is called, an incomplete last
    line is dropped, and reading starts over at the beginning of the (new) file.
    """
    f = open(path, "rb")  # noqa: SIM115 - kept open across iterations, closed in finally
    try:
        if not from_start:
            f.seek(0, os.SEEK_END)
        ino = os.fstat(f.fileno()).st_ino
        partial = b""
        while not stop():
            chunk = f.read(1 << 20)
            if chunk:
                data = partial + chunk
                lines = data.split(b"\n")
                partial = lines.pop()
                for line in lines:
                    yield line.decode("latin-1") + "\n"
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and (st.st_ino != ino or st.st_size < f.tell()):
                reason = "replaced" if st.st_ino != ino else "truncated"
                if st.st_ino != ino:
                    f.close()
                    f = open(path, "rb")  # noqa: SIM115
                    ino = os.fstat(f.fileno()).st_ino
                else:
                    f.seek(0)
                partial = b""
                if on_restart is not None:
                    on_restart(reason)
                continue
            if on_idle is not None:
                on_idle()
            time.sleep(poll_s)
    finally:
        f.close()


class SelfExclusion:
    """Write our pid to the module's exclude_pid parameter while following, and restore it after.

    Does nothing when the module is not loaded or the parameter is not writable (not root), so following
    a copied file on another machine works the same.
    """

    def __init__(self, param: str = EXCLUDE_PID_PARAM) -> None:
        self.param = param
        self.previous: str | None = None
        self.active = False

    def __enter__(self) -> SelfExclusion:
        if os.path.exists(self.param) and os.access(self.param, os.W_OK):
            try:
                with open(self.param) as f:
                    self.previous = f.read().strip()
                with open(self.param, "w") as f:
                    f.write(f"{os.getpid()}\n")
                self.active = True
            except OSError:
                self.active = False
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.active:
            return
        try:
            with open(self.param) as f:
                still_ours = f.read().strip() == str(os.getpid())
            if still_ours:
                with open(self.param, "w") as f:
                    f.write(f"{self.previous or 0}\n")
        except OSError:
            pass
