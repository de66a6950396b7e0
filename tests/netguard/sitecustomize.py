"""Loaded by child processes whose PYTHONPATH names this folder: non-loopback connects fail and are logged.

The conftest guard covers only the test process; a server the tests start (LangGraph Server) gets
the same guard here, and every refused address is appended to $AGENT_APP_NET_LOG for the test to read.
"""

import ipaddress
import os
import socket
import traceback

_LOG = os.environ.get("AGENT_APP_NET_LOG", "")
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _loopback(address):
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like stay on the machine
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(address):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            stack = "".join(traceback.format_stack()[:-2])
            fh.write(f"{address!r}\n{stack}\n")
    raise OSError(f"non-loopback connection refused by the test guard: {address!r}")


def _guarded(self, address):
    if not _loopback(address):
        _refuse(address)
    return _connect(self, address)


def _guarded_ex(self, address):
    if not _loopback(address):
        _refuse(address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded
socket.socket.connect_ex = _guarded_ex
