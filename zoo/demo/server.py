"""`python -m zoo.demo` in a child process on a free local port, for the length of a `with`
block: what the browser test and the demo's tools start.

    with DemoServer(log=path) as url:     # "http://127.0.0.1:<port>/", answering
        ...
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["DemoServer"]


class DemoServer:
    """The demo on 127.0.0.1 at a free port; `log`: a file for its output (default: none);
    `timeout`: seconds to wait for the page's first answer."""

    def __init__(self, log=None, timeout=300):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log, self.timeout = log, timeout

    def __enter__(self):
        self.output = open(self.log, "w") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zoo.demo", "--port", str(self.port)],
            stdout=self.output,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        url = f"http://127.0.0.1:{self.port}/"
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                said = Path(self.log).read_text()[-2000:] if self.log else ""
                raise RuntimeError(f"the demo exited with {self.process.returncode}: {said}")
            try:
                urllib.request.urlopen(url, timeout=2)
                return url
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"the demo did not answer within {self.timeout} s")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.log:
            self.output.close()
