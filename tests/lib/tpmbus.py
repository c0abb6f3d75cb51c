#!/usr/bin/env python3
"""tpmbus.py - read the TPM traffic that swtpm logged (--log level=20).

swtpm logs each command as " SWTPM_IO_Read: length N" and each response as
" SWTPM_IO_Write: length N", each followed by lines of hex bytes.

  tpmbus.py LOG hex
      every byte of every command and response, one hex string (upper case)
  tpmbus.py LOG sessions CC[,CC...]
      for each command with one of these command codes (hex, e.g. 12a):
      "<name> <attrs of each session, hex>", one line each
  tpmbus.py LOG encrypted CC[,CC...] in|out
      checks that every such command carries a session with the decrypt
      attribute (in: the TPM decrypts the first command parameter) or the
      encrypt attribute (out: the TPM encrypts the first response
      parameter); prints one line per command; exit 0 when all do and at
      least one was seen, 1 when one does not, 2 when none was seen
  tpmbus.py LOG some CC[,CC...] in|out
      the same, but exit 0 when at least one such command does (for a
      command that carries a secret only sometimes, as RSA_Decrypt does)

The structure read is TPM 2.0 Part 1, 18: header (tag, size, command
code), the handle area (its length depends on the command: the table below
holds the commands tpm11 sends with secrets in them), then, for
TPM_ST_SESSIONS, authorizationSize and the sessions (handle, nonce,
attributes, hmac).
"""
import re
import struct
import sys

# command code -> (name, number of handles in the handle area)
COMMANDS = {
    0x12A: ("NV_DefineSpace", 1),
    0x137: ("NV_Write", 2),
    0x13B: ("NV_ChangeAuth", 1),
    0x14E: ("NV_Read", 2),
    0x153: ("Create", 1),
    0x154: ("ECDH_ZGen", 1),
    0x156: ("Import", 1),
    0x157: ("Load", 1),
    0x159: ("RSA_Decrypt", 1),
    0x15D: ("Sign", 1),
    0x193: ("EncryptDecrypt2", 1),
}
ATTR_DECRYPT = 0x20
ATTR_ENCRYPT = 0x40


def messages(path):
    """Yields (direction, bytes): 'cmd' for commands, 'rsp' for responses."""
    cur, kind, want = None, None, 0
    head = re.compile(r"^ SWTPM_IO_(Read|Write): length (\d+)")
    for line in open(path, errors="replace"):
        m = head.match(line)
        if m:
            if cur is not None and len(cur) == want:
                yield kind, bytes(cur)
            kind = "cmd" if m.group(1) == "Read" else "rsp"
            want, cur = int(m.group(2)), bytearray()
            continue
        if cur is not None and re.match(r"^( [0-9A-F]{2})+ ?$", line):
            cur.extend(int(b, 16) for b in line.split())
            continue
        if cur is not None and len(cur) == want:
            yield kind, bytes(cur)
        cur = None
    if cur is not None and len(cur) == want:
        yield kind, bytes(cur)


def sessions(cmd):
    """The session attributes of a command, or None if it is not parsable."""
    if len(cmd) < 10:
        return None
    tag, _size, cc = struct.unpack(">HII", cmd[:10])
    if cc not in COMMANDS:
        return None
    off = 10 + 4 * COMMANDS[cc][1]
    if tag != 0x8002:
        return []
    (auth_size,) = struct.unpack(">I", cmd[off:off + 4])
    off += 4
    end = off + auth_size
    attrs = []
    while off < end:
        off += 4  # session handle
        (nlen,) = struct.unpack(">H", cmd[off:off + 2])
        off += 2 + nlen
        attrs.append(cmd[off])
        off += 1
        (hlen,) = struct.unpack(">H", cmd[off:off + 2])
        off += 2 + hlen
    return attrs


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    log, what = argv[1], argv[2]
    if what == "hex":
        sys.stdout.write("".join(b.hex().upper() for _, b in messages(log)))
        return 0
    codes = {int(c, 16) for c in argv[3].split(",")}
    seen = bad = 0
    for kind, msg in messages(log):
        if kind != "cmd" or len(msg) < 10:
            continue
        cc = struct.unpack(">I", msg[6:10])[0]
        if cc not in codes:
            continue
        attrs = sessions(msg)
        name = COMMANDS.get(cc, (hex(cc), 0))[0]
        shown = " ".join("%02x" % a for a in attrs or [])
        if what == "sessions":
            print(name, shown)
            continue
        bit = ATTR_DECRYPT if argv[4] == "in" else ATTR_ENCRYPT
        good = any(a & bit for a in attrs or [])
        seen += 1
        bad += 0 if good else 1
        print("%s: sessions [%s] -> %s" % (name, shown,
              "encrypted" if good else "NOT encrypted"))
    if what == "sessions":
        return 0
    if seen == 0:
        return 2
    if what == "some":
        return 0 if bad < seen else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
