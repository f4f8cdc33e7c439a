# SPDX-License-Identifier: MIT
"""An aioice 0.8 ICE peer driven over stdin/stdout, for tests/aioice_test.go.

Usage: /usr/bin/python3 -u peer.py --controlling 0|1 --components N [--debug]

One aioice.Connection (one stream with N components, IPv4 host candidates
only, no STUN/TURN). Every line is ASCII and ends with "\n"; the first word
is the verb.

Printed on stdout:
  creds <ufrag> <pwd>        local credentials (first line)
  cand a=candidate:<sdp>     one local candidate (Candidate.to_sdp())
  gathered                   all local candidates were printed
  connected                  connect() returned
  failed <reason>            connect() raised; the peer keeps reading stdin
  recv <component> <text>    data received on that component
  sent <component>           a "send" command was done
  error <text>               a command could not be carried out
  bye                        the peer is exiting

Read on stdin:
  creds <ufrag> <pwd>        remote credentials
  cand a=candidate:<sdp>     a remote candidate ("a=" and "candidate:" optional)
  done                       end of remote candidates; starts connect()
  send <component> <text>    sendto(text, component)
  quit                       close the connection and exit (so does EOF)

Debug logs (--debug) go to stderr.
"""

import argparse
import asyncio
import logging
import sys

import aioice


def out(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def strip_prefix(line):
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    return line


async def receive(conn):
    while True:
        try:
            data, component = await conn.recvfrom()
        except Exception as exc:  # closed connection
            out("error", "recvfrom:", repr(exc))
            return
        out("recv", component, data.decode("ascii", "replace"))


async def connect(conn, tasks):
    try:
        await conn.connect()
    except Exception as exc:
        out("failed", repr(exc))
        return
    out("connected")
    tasks.append(asyncio.ensure_future(receive(conn)))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--controlling", type=int, required=True)
    parser.add_argument("--components", type=int, default=1)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

    conn = aioice.Connection(
        ice_controlling=bool(args.controlling),
        components=args.components,
        use_ipv6=False,
    )
    out("creds", conn.local_username, conn.local_password)
    await conn.gather_candidates()
    for c in conn.local_candidates:
        out("cand", "a=candidate:" + c.to_sdp())
    out("gathered")

    loop = asyncio.get_running_loop()
    tasks = []
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.rstrip("\n").split(" ", 1)
        verb, rest = words[0], words[1] if len(words) > 1 else ""
        try:
            if verb == "creds":
                conn.remote_username, conn.remote_password = rest.split()
            elif verb == "cand":
                cand = aioice.Candidate.from_sdp(strip_prefix(rest.strip()))
                await conn.add_remote_candidate(cand)
            elif verb == "done":
                await conn.add_remote_candidate(None)
                tasks.append(asyncio.ensure_future(connect(conn, tasks)))
            elif verb == "send":
                comp, text = rest.split(" ", 1)
                await conn.sendto(text.encode("ascii"), int(comp))
                out("sent", comp)
            elif verb == "quit":
                break
            elif verb:
                out("error", "unknown command", verb)
        except Exception as exc:
            out("error", verb, repr(exc))

    for t in tasks:
        t.cancel()
    await conn.close()
    out("bye")


if __name__ == "__main__":
    asyncio.run(main())
