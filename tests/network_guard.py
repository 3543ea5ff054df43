"""Test tool: run a Python entry point with every outbound network path blocked and recorded.

Usage: python network_guard.py LOGFILE MODULE:FUNCTION [ARGS...]   (calls FUNCTION(ARGS))
       python network_guard.py LOGFILE SCRIPT.py                     (runs the script)
Any attempt to connect (TCP/UDP, IPv4/IPv6) or resolve a name is refused with OSError and appended to
LOGFILE, so a test can assert that nothing tried to leave the machine — not only that nothing succeeded.
"""

import importlib
import socket
import sys

_log_path = sys.argv[1]


def _record(what):
    with open(_log_path, "a") as handle:
        handle.write(f"{what}\n")
    raise OSError(f"network blocked by test: {what}")


def _guarded(method):
    def wrapper(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _record(f"{method.__name__} {address}")
        return method(self, address, *args)
    return wrapper


socket.socket.connect = _guarded(socket.socket.connect)
socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
socket.socket.sendto = lambda self, *a: _record(f"sendto {a[-1]}")
socket.getaddrinfo = lambda host, *a, **k: _record(f"getaddrinfo {host}")
socket.gethostbyname = lambda host: _record(f"gethostbyname {host}")
socket.create_connection = lambda address, *a, **k: _record(f"create_connection {address}")

if __name__ == "__main__":
    if sys.argv[2].endswith(".py"):
        import runpy

        runpy.run_path(sys.argv[2], run_name="__main__")
        sys.exit(0)
    module, function = sys.argv[2].split(":")
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    sys.exit(getattr(importlib.import_module(module), function)(sys.argv[1:]))
