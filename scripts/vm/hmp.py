# QEMU's human monitor on a unix socket (vm-run starts QEMU with one), for
# the VM runner's scripts: scripts/vm/hang-dump, scripts/vm/vm-snapshot.
import socket

PROMPT = b"(qemu) "


def connect(path, timeout=5):
    """A connection to the monitor at path, its banner read."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    read_to_prompt(sock)
    return sock


def ask(sock, command):
    """The monitor's answer to command, without the echoed command."""
    sock.sendall(command.encode() + b"\n")
    text = read_to_prompt(sock).decode(errors="replace").replace("\r", "")
    return text.split("\n", 1)[1] if "\n" in text else ""


def read_to_prompt(sock):
    data = b""
    while not data.endswith(PROMPT):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data[: -len(PROMPT)] if data.endswith(PROMPT) else data
