"""Test tool: run a Python entry point with every outbound network path blocked and recorded.

Usage: python network_guard.py LOGFILE MODULE:FUNCTION [ARGS...]   (calls FUNCTION(ARGS))
       python network_guard.py LOGFILE SCRIPT.py                     (runs the script)
Any attempt to connect (TCP/UDP, IPv4/IPv6) or resolve a name is refused with OSError and appended to
LOGFILE, so a test can assert that nothing tried to leave the machine — not only that nothing succeeded.

Env NETWORK_GUARD_ALLOW=127.0.0.1,localhost,::1 lets those hosts through (a served app talking to itself
on loopback); by default nothing is allowed.
"""

import importlib
import os
import socket
import sys

_log_path = sys.argv[1]
_allowed = {host.strip() for host in os.environ.get("NETWORK_GUARD_ALLOW", "").split(",") if host.strip()}
_real = {"getaddrinfo": socket.getaddrinfo, "gethostbyname": socket.gethostbyname,
         "create_connection": socket.create_connection, "sendto": socket.socket.sendto}


def _record(what):
    with open(_log_path, "a") as handle:
        handle.write(f"{what}\n")
    raise OSError(f"network blocked by test: {what}")


def _host(address):
    return address[0] if isinstance(address, tuple) and address else address


def _guarded(method):
    def wrapper(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _allowed:
            _record(f"{method.__name__} {address}")
        return method(self, address, *args)
    return wrapper


def _sendto(self, *args):
    if _host(args[-1]) not in _allowed:
        _record(f"sendto {args[-1]}")
    return _real["sendto"](self, *args)


def _resolver(name):
    def resolve(target, *args, **kwargs):
        if _host(target) not in _allowed:
            _record(f"{name} {target}")
        return _real[name](target, *args, **kwargs)
    return resolve


socket.socket.connect = _guarded(socket.socket.connect)
socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
socket.socket.sendto = _sendto
socket.getaddrinfo = _resolver("getaddrinfo")
socket.gethostbyname = _resolver("gethostbyname")
socket.create_connection = _resolver("create_connection")

if __name__ == "__main__":
    if sys.argv[2].endswith(".py"):
        import runpy

        runpy.run_path(sys.argv[2], run_name="__main__")
        sys.exit(0)
    module, function = sys.argv[2].split(":")
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    sys.exit(getattr(importlib.import_module(module), function)(sys.argv[1:]))
