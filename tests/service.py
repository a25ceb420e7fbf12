"""A process the tests start and own (JupyterLab, the course hub): `with` starts it and, whatever happens, stops it
and removes what it left behind."""

from __future__ import annotations


class Service:
    """Subclasses give start() (returning self), stop() and cleanup(); the last two must be safe after a failed start."""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            self.cleanup()
            raise

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()
