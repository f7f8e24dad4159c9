"""Brings the loopback interface up (what `ip link set lo up` does), for python/ci.sh.

Run inside a fresh network namespace, where `lo` starts down; needs CAP_NET_ADMIN there (root,
or root mapped by `unshare --map-root-user`). Plain ioctls, so a machine without iproute2
(a minimal container image) runs the engine tests too.
"""

import fcntl
import socket
import struct

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = "16sh14x"  # struct ifreq: the name, then ifr_flags in the 24-byte union

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    _, flags = struct.unpack(IFREQ, fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0)))
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))
