#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Debian's Janus, unmodified, on the libnice drop-in: an EchoTest session.

    tests/janus/echotest.py --libnice DIR    # DIR holds the drop-in's libnice.so.10
    tests/janus/echotest.py --libnice system # Debian's libnice (the baseline)

As root: the test makes a network namespace of its own with a veth
interface (Janus never uses loopback for ICE, janus-run.md section 7), starts
/usr/bin/janus in it with LD_LIBRARY_PATH=DIR (a config in a temporary
directory: the EchoTest plugin and the HTTP transport only, HTTP and admin
API on 127.0.0.1), checks from /proc/PID/maps that Janus runs on the library it was
given, then runs an aiortc client (Debian's python3-aiortc) in the same
namespace: create a session, attach the EchoTest, send an offer with audio
and a data channel (half-trickle: candidates in the SDP), and check that ICE
completes, DTLS connects (Janus says webrtcup), echoed audio frames are
decoded and the data channel echoes. Then hangup, destroy, and Janus exits
on SIGINT.

    tests/janus/echotest.py --libnice DIR --client chromium

runs headless Chromium (Debian's chromium, fake camera and microphone) in
the namespace instead, on a page the test serves on 127.0.0.1 (PAGE below).
The page drives Janus's HTTP API itself (the test's server passes /janus/...
on to Janus): create, attach, an offer with audio and video, its candidates
trickled, Janus's events long-polled; after a few seconds of echo it POSTs
getStats() back. Pass: ICE connected, DTLS connected, Janus said webrtcup,
inbound audio and video bytes > 0 and decoded video frames > 0.

Every session prints TIMING lines: the client's times from the offer to
ICE and DTLS, Janus's own (its admin API, on 127.0.0.1:7088, read while it
echoes), and Janus's CPU while it echoes. --bench-json FILE also appends
them to FILE, one JSON line per session, for tests/janus/bench.py (which
runs Janus on libnice and on the drop-in alternately).

Exit status: 0 pass, 1 fail, 77 skipped (janus, aiortc or chromium missing,
not root; under CI=true a missing dependency is a failure instead).
"""

import argparse
import asyncio
import fractions
import json
import math
import os
import random
import re
import shutil
import signal
import string
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

JANUS = "/usr/bin/janus"
JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"
CHROMIUM = "/usr/lib/chromium/chromium"  # the real binary, not the /usr/bin wrapper (chromium.md section 1)
ADDR = "10.231.0.1"  # gnj0 in the test's own namespace; nothing routes to it


def log(msg):
    print(f"[{time.monotonic() - T0:7.3f}] {msg}", flush=True)


T0 = time.monotonic()


def skip_or_fail(reason):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true: a missing dependency is a failure)")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(77)


# ---------------------------------------------------------------------------
# Outside the namespace: set up, start Janus, run the client inside, clean up
# ---------------------------------------------------------------------------

JCFG = """general: {{
	configs_folder = "{d}/conf"
	plugins_folder = "{d}/plugins"
	transports_folder = "{d}/transports"
	events_folder = "{d}/events"
	loggers_folder = "{d}/loggers"
	debug_level = 4
	debug_timestamps = true
	debug_colors = false
	admin_secret = "janusoverlord"
	interface = "{addr}"
	session_timeout = 60
}}
certificates: {{
}}
media: {{
	rtp_port_range = "20000-20100"
}}
nat: {{
	nice_debug = false
	full_trickle = {full_trickle}
	ice_lite = {ice_lite}
	ice_tcp = {ice_tcp}
	ignore_mdns = true
	ice_enforce_list = "gnj0"
{turn}}}
plugins: {{
}}
transports: {{
}}
loggers: {{
}}
events: {{
	broadcast = false
}}
"""

NOUDP = """table inet noudp {
  chain out { type filter hook output priority filter; policy accept;
    meta l4proto udp counter drop
  }
}
"""

HTTPCFG = """general: {
	json = "indented"
	base_path = "/janus"
	http = true
	port = 8088
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = true
	admin_port = 7088
	admin_ip = "127.0.0.1"
	admin_base_path = "/admin"
}
cors: {
}
"""


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def outside(opts):
    if os.geteuid() != 0:
        skip_or_fail("needs root (network namespaces)")
    if not os.path.exists(JANUS):
        skip_or_fail("Debian's janus is not installed (apt-get install janus)")
    if opts.client == "chromium":
        if not os.access(CHROMIUM, os.X_OK):
            skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    elif subprocess.run(["/usr/bin/python3", "-c", "import aiortc"], capture_output=True).returncode != 0:
        skip_or_fail("Debian's python3-aiortc is not installed")
    libdir = None
    if opts.libnice != "system":
        libdir = os.path.abspath(opts.libnice)
        if not os.path.exists(os.path.join(libdir, "libnice.so.10")):
            print(f"FAIL: no libnice.so.10 in {libdir}")
            return 1
    ns = f"gnjanus{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="janus-echotest-")
    janus = None
    daemon = None
    turnserver = None
    rc = 1
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # A veth pair inside the namespace (the kernel may lack "dummy"); both
        # Janus and the client use gnj0's address.
        sh("ip", "-n", ns, "link", "add", "gnj0", "type", "veth", "peer", "name", "gnj1")
        sh("ip", "-n", ns, "addr", "add", f"{ADDR}/24", "dev", "gnj0")
        sh("ip", "-n", ns, "link", "set", "gnj0", "up")
        sh("ip", "-n", ns, "link", "set", "gnj1", "up")
        if opts.ice_tcp:
            # A network that lets only TCP through: every UDP datagram
            # sent in the namespace is dropped (and counted).
            subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], check=True, text=True, input=NOUDP)
        if opts.turn:
            turnserver = start_turnserver(ns, tmp)
        for sub in ("conf", "plugins", "transports", "events", "loggers"):
            os.mkdir(os.path.join(tmp, sub))
        os.symlink(f"{JANUS_LIB}/plugins/libjanus_echotest.so", f"{tmp}/plugins/libjanus_echotest.so")
        os.symlink(f"{JANUS_LIB}/transports/libjanus_http.so", f"{tmp}/transports/libjanus_http.so")
        with open(f"{tmp}/conf/janus.jcfg", "w") as f:
            turn = (f'\tturn_server = "{ADDR}"\n\tturn_port = 3478\n\tturn_type = "udp"\n'
                    '\tturn_user = "janus"\n\tturn_pwd = "secret"\n\tallow_force_relay = true\n'
                    if opts.turn else "")
            f.write(JCFG.format(d=tmp, addr=ADDR, full_trickle="true" if opts.full_trickle else "false",
                                ice_lite="true" if opts.ice_lite else "false",
                                ice_tcp="true" if opts.ice_tcp else "false", turn=turn))
        with open(f"{tmp}/conf/janus.transport.http.jcfg", "w") as f:
            f.write(HTTPCFG)
        with open(f"{tmp}/conf/janus.plugin.echotest.jcfg", "w") as f:
            f.write("general: {\n}\n")
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        if libdir:
            env["LD_LIBRARY_PATH"] = libdir
        janus_log = open(f"{tmp}/janus.log", "w")
        cmd = ["ip", "netns", "exec", ns, JANUS, "-C", f"{tmp}/conf/janus.jcfg", "-F", f"{tmp}/conf"]
        if opts.daemon:
            # As Debian's unit: Janus forks after loading its libraries, and
            # the child makes the first libnice call (janus-run.md section 7).
            cmd += ["--daemon", "-p", f"{tmp}/janus.pid", "-L", f"{tmp}/janus.daemon.log"]
        janus = subprocess.Popen(cmd, env=env, stdout=janus_log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        if opts.daemon:
            pid = daemon_pid(janus, f"{tmp}/janus.pid")
            daemon = pid
        else:
            pid = janus.pid  # ip netns exec execs janus in place
        log(f"janus started (pid {pid}{', daemon' if opts.daemon else ''}), libnice: {libdir or 'system'}")
        client = subprocess.run(
            ["ip", "netns", "exec", ns, "/usr/bin/python3", os.path.abspath(__file__), "--inside",
             "--seconds", str(opts.seconds), "--sessions", str(opts.sessions), "--janus-pid", str(pid),
             "--client", opts.client]
            + (["--expect-lib", libdir] if libdir else ["--expect-lib", "system"])
            + (["--turn"] if opts.turn else []) + (["--force-relay"] if opts.force_relay else [])
            + (["--bench-json", os.path.abspath(opts.bench_json)] if opts.bench_json else []),
            timeout=120 + 15 * opts.sessions)
        rc = client.returncode
        if opts.ice_tcp:
            out = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "noudp"],
                                 capture_output=True, text=True).stdout
            m = re.search(r"packets (\d+)", out)
            dropped = int(m.group(1)) if m else 0
            log(f"UDP datagrams dropped in the namespace: {dropped}")
            if dropped == 0 and rc == 0:
                log("FAIL: no UDP was dropped: ICE-TCP was not what connected")
                rc = 1
    except subprocess.TimeoutExpired:
        log("FAIL: the client did not finish in time")
        rc = 1
    finally:
        if daemon is not None:
            stop_daemon(daemon)
        elif janus is not None:
            try:
                os.killpg(janus.pid, signal.SIGINT)
                janus.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(janus.pid, signal.SIGKILL)
                janus.wait()
            log(f"janus exited with {janus.returncode}")
        if turnserver is not None:
            turnserver.terminate()
            turnserver.wait()
            # Media relayed through coturn binds a channel (or sends
            # indications) for the peer.
            with open(f"{tmp}/turn.log", errors="replace") as f:
                relayed = sum(1 for l in f if "CHANNEL_BIND processed" in l or "SEND processed" in l)
            log(f"coturn: {relayed} channel binds / send indications")
            if opts.force_relay and relayed == 0 and rc == 0:
                log("FAIL: relay was forced but coturn relayed nothing")
                rc = 1
        for name in ("janus.log", "janus.daemon.log", "turn.log"):
            if rc != 0 and os.path.exists(f"{tmp}/{name}"):
                print(f"---- {name} (last 60 lines)")
                with open(f"{tmp}/{name}") as f:
                    print("".join(f.readlines()[-60:]))
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(tmp, ignore_errors=True)
    print("ECHOTEST PASS" if rc == 0 else "ECHOTEST FAIL")
    return rc


def start_turnserver(ns, tmp):
    """coturn's turnserver in the namespace, on ADDR:3478 (UDP), user janus."""
    if shutil.which("turnserver") is None:
        skip_or_fail("coturn's turnserver is not installed (apt-get install coturn)")
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, "turnserver", "-n", f"--listening-ip={ADDR}", f"--relay-ip={ADDR}",
         "--listening-port=3478", "--lt-cred-mech", "--user=janus:secret", "--realm=gonice", "--no-tls",
         "--no-dtls", "--no-cli", "--no-rfc5780", f"--userdb={tmp}/turndb", f"--log-file={tmp}/turn.log",
         "--simple-log", "--verbose", f"--pidfile={tmp}/turn.pid", "--allow-loopback-peers"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    if p.poll() is not None:
        raise RuntimeError("turnserver did not start")
    log("turnserver started")
    return p


def daemon_pid(parent, pidfile):
    """The pid of janus --daemon's child, from its pid file."""
    parent.wait(timeout=10)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("janus --daemon wrote no pid file")


def stop_daemon(pid):
    try:
        os.kill(pid, signal.SIGINT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    log("janus daemon stopped")


# ---------------------------------------------------------------------------
# Inside the namespace: the aiortc client
# ---------------------------------------------------------------------------

class Janus:
    def __init__(self, base="http://127.0.0.1:8088/janus"):
        self.base = base
        self.session = None
        self.handle = None

    def _tx(self):
        return "".join(random.choice(string.ascii_letters) for _ in range(12))

    def post(self, path, body):
        body = dict(body, transaction=self._tx())
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def poll(self):
        url = f"{self.base}/{self.session}?maxev=5&rid={int(time.time() * 1000)}"
        with urllib.request.urlopen(url, timeout=40) as r:
            ev = json.loads(r.read())
        return ev if isinstance(ev, list) else [ev]


def wait_http(timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen("http://127.0.0.1:8088/janus/info", timeout=1) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("Janus's HTTP API did not answer in 10 s")


def check_library(pid, expect):
    with open(f"/proc/{pid}/maps") as f:
        libs = {line.split()[-1] for line in f if "libnice.so" in line}
    log(f"janus maps libnice: {sorted(libs)}")
    if expect == "system":
        ok = any(l.startswith("/usr/lib/") for l in libs)
    else:
        ok = any(l.startswith(expect) for l in libs) and not any(l.startswith("/usr/lib/") for l in libs)
    if not ok:
        raise RuntimeError(f"janus does not run on the expected libnice ({expect}): {sorted(libs)}")


async def client(opts):
    from aiortc import MediaStreamTrack
    import av

    class Tone(MediaStreamTrack):
        """A 440 Hz tone in 20 ms frames, paced in real time."""
        kind = "audio"

        def __init__(self):
            super().__init__()
            self.pts = 0
            self.start = None

        async def recv(self):
            if self.start is None:
                self.start = time.monotonic()
            wait = self.start + self.pts / 48000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            samples = [int(8000 * math.sin(2 * math.pi * 440 * (self.pts + i) / 48000)) for i in range(960)]
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(struct.pack(f"<{960}h", *samples))
            frame.pts = self.pts
            frame.sample_rate = 48000
            frame.time_base = fractions.Fraction(1, 48000)
            self.pts += 960
            return frame

    info = await asyncio.to_thread(wait_http)
    log(f"janus {info.get('version_string')} answers")
    check_library(opts.janus_pid, opts.expect_lib)
    failed = 0
    samples = []
    for i in range(opts.sessions):
        if opts.sessions > 1:
            log(f"--- session {i + 1} of {opts.sessions}")
        if await session(opts, Tone) != 0:
            failed += 1
        if opts.sessions > 1 and not opts.bench_json:  # bench.py: no flatness check, no waiting for it
            samples.append(await asyncio.to_thread(settle, opts.janus_pid, samples[-1] if samples else None))
            log(f"janus after session {i + 1}: rss={samples[-1]['rss_kb']} kB fds={samples[-1]['fds']} "
                f"threads={samples[-1]['threads']}")
    if opts.sessions > 1 and not failed and not opts.bench_json:
        failed += not flat(samples)
    return 1 if failed else 0


def cpu_ticks(pid):
    """Janus's user + system CPU time so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_ns(pid):
    """Janus's CPU time so far in nanoseconds: the sum over its threads of
    the time on CPU (/proc/PID/task/*/schedstat), finer than cpu_ticks's
    10 ms ticks. A thread that exits is missed; none does while a session
    echoes."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def admin_times(j, t_offer):
    """Janus's own timestamps of the session (admin API handle_info, read
    while it echoes): its ICE component connected and its DTLS handshake
    done, as ms after the offer was sent. Janus stamps them with
    CLOCK_MONOTONIC in microseconds, the clock of Python's time.monotonic()."""
    body = {"janus": "handle_info", "transaction": j._tx(), "admin_secret": "janusoverlord"}
    req = urllib.request.Request(f"http://127.0.0.1:7088/admin/{j.session}/{j.handle}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            info = json.loads(r.read()).get("info", {})
    except OSError as e:
        log(f"admin API: {e!r}")
        return {}
    webrtc = info.get("webrtc", {})
    out = {}
    ice, dtls = webrtc.get("ice", {}).get("connected"), webrtc.get("dtls", {}).get("connected")
    if ice:
        out["ice_ms"] = (ice / 1e6 - t_offer) * 1000
    if dtls:
        out["dtls_ms"] = (dtls / 1e6 - t_offer) * 1000
    return out


def janus_usage(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return {"rss_kb": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


def settle(pid, prev):
    """Janus's usage once a closed session's threads are gone: the first
    sample is taken after 1 s; later ones wait (at most 5 s) for the previous
    sample's thread and fd counts."""
    end = time.monotonic() + (1 if prev is None else 5)
    u = janus_usage(pid)
    while time.monotonic() < end:
        time.sleep(0.1)
        u = janus_usage(pid)
        if prev is not None and u["threads"] <= prev["threads"] and u["fds"] <= prev["fds"]:
            break
    return u


def flat(samples):
    """No growth with the number of sessions: threads at most 2 above the
    first sample's (the Go runtime of the drop-in may start a thread or two
    once, at any time: its threads are pooled, never one per session; a
    thread left per closed session would add 19), fds at most 5 above the
    first sample's (Janus's HTTP transport holds a few client connections at
    times, under load up to 3 more, also on Debian's libnice; an fd left per
    session would add 19), RSS grown by less than 4 MB over the
    second half of the sessions (on the drop-in Janus's RSS has risen by up
    to 300 kB a session over the first ~15 sessions in some runs, the Go
    heap's warm-up, and stayed flat after; a leaked agent per session would
    keep it rising)."""
    first, last = samples[0], samples[-1]
    half = len(samples) // 2
    base = samples[half - 1] if half > 0 else first
    growth = last["rss_kb"] - base["rss_kb"]
    ok = last["threads"] <= first["threads"] + 2 and last["fds"] <= first["fds"] + 5 and growth < 4096
    log(f"{'FLAT' if ok else 'NOT FLAT'} over {len(samples)} sessions: threads {first['threads']} (session 1), "
        f"{base['threads']} (session {max(half, 1)}) -> {last['threads']}; fds {first['fds']} -> {last['fds']}; "
        f"rss {first['rss_kb']} kB (session 1), {base['rss_kb']} kB (session {max(half, 1)}) -> "
        f"{last['rss_kb']} kB ({growth:+d} kB over the second half)")
    return ok


async def session(opts, Tone):
    """One EchoTest session; 0 if everything was echoed."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    j = Janus()
    r = await asyncio.to_thread(j.post, "", {"janus": "create"})
    j.session = r["data"]["id"]
    r = await asyncio.to_thread(j.post, f"/{j.session}", {"janus": "attach", "plugin": "janus.plugin.echotest"})
    j.handle = r["data"]["id"]
    log(f"session {j.session} handle {j.handle}")

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    state = {"frames": 0, "echoes": [], "webrtcup": False, "answer": None, "ice": None, "t0": None}
    done = asyncio.Event()

    @pc.on("iceconnectionstatechange")
    def _ice():
        state["ice"] = pc.iceConnectionState
        if pc.iceConnectionState == "completed" and state["t0"] is not None:
            state.setdefault("t_ice", time.monotonic() - state["t0"])
        log(f"ICE state {pc.iceConnectionState}")

    @pc.on("connectionstatechange")
    def _pc():
        if pc.connectionState == "connected" and state["t0"] is not None:
            state.setdefault("t_dtls", time.monotonic() - state["t0"])
        log(f"PC state {pc.connectionState}")

    @pc.on("track")
    def _track(track):
        async def count():
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                state["frames"] += 1
        asyncio.ensure_future(count())

    pc.addTrack(Tone())
    dc = pc.createDataChannel("echo")

    @dc.on("open")
    def _open():
        log("datachannel open")
        dc.send("hello from aiortc")

    @dc.on("message")
    def _msg(m):
        log(f"datachannel echo: {m}")
        state["echoes"].append(m)

    await pc.setLocalDescription(await pc.createOffer())
    t_offer = state["t0"] = time.monotonic()
    r = await asyncio.to_thread(j.post, f"/{j.session}/{j.handle}", {
        "janus": "message", "body": {"audio": True, "video": False, "data": True},
        "jsep": dict({"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False},
                     **({"force_relay": True} if opts.force_relay else {}))})
    log(f"offer -> {r['janus']}")

    async def events():
        while not done.is_set():
            try:
                evs = await asyncio.to_thread(j.poll)
            except OSError:
                continue
            for ev in evs:
                kind = ev.get("janus")
                if kind == "keepalive":
                    continue
                if "jsep" in ev and ev["jsep"]["type"] == "answer":
                    state["answer"] = time.monotonic() - t_offer
                    state["relay_in_answer"] = " typ relay " in ev["jsep"]["sdp"]
                    state["unrelayed_in_answer"] = [l for l in ev["jsep"]["sdp"].splitlines()
                                                    if l.startswith("a=candidate") and " typ relay " not in l]
                    log(f"answer after {state['answer']:.3f} s")
                    await pc.setRemoteDescription(RTCSessionDescription(sdp=ev["jsep"]["sdp"], type="answer"))
                    for cand in state.pop("pending", []):  # full-trickle: they came first
                        await pc.addIceCandidate(cand)
                elif kind == "trickle":
                    c = ev.get("candidate", {})
                    log(f"trickle from janus: {c}")
                    if c.get("candidate"):
                        from aiortc.sdp import candidate_from_sdp
                        cand = candidate_from_sdp(c["candidate"].split(":", 1)[1])
                        cand.sdpMid = c.get("sdpMid")
                        cand.sdpMLineIndex = c.get("sdpMLineIndex")
                        if pc.remoteDescription is None:
                            state.setdefault("pending", []).append(cand)
                        else:
                            await pc.addIceCandidate(cand)
                elif kind == "webrtcup":
                    state["webrtcup"] = True
                    log("webrtcup")
                else:
                    log(f"event: {json.dumps(ev)[:200]}")

    poller = asyncio.ensure_future(events())
    await asyncio.sleep(1)  # connected by now; then Janus's CPU while it echoes
    cpu0, ns0, w0 = cpu_ticks(opts.janus_pid), cpu_ns(opts.janus_pid), time.monotonic()
    await asyncio.sleep(max(opts.seconds - 1, 1))
    window = time.monotonic() - w0
    cpu = (cpu_ns(opts.janus_pid) - ns0) / 1e9 / window
    cpu_tick = (cpu_ticks(opts.janus_pid) - cpu0) / os.sysconf("SC_CLK_TCK") / window
    janus_side = await asyncio.to_thread(admin_times, j, t_offer)
    t_ice, t_dtls = state.get("t_ice"), state.get("t_dtls")
    log(f"TIMING: offer->ICE completed {t_ice * 1000 if t_ice else float('nan'):.1f} ms, "
        f"offer->DTLS connected {t_dtls * 1000 if t_dtls else float('nan'):.1f} ms, "
        f"janus CPU while echoing {cpu * 100:.2f} % (utime+stime: {cpu_tick * 100:.2f} %)")
    log(f"TIMING (Janus's admin API): offer->ICE connected {janus_side.get('ice_ms', float('nan')):.1f} ms, "
        f"offer->DTLS connected {janus_side.get('dtls_ms', float('nan')):.1f} ms")
    log(f"RESULT: echoed audio frames decoded={state['frames']}, datachannel echoes={state['echoes']}, "
        f"answered={state['answer'] is not None}, ice={state['ice']}, webrtcup={state['webrtcup']}, "
        f"pc={pc.connectionState}")
    ok = (state["frames"] >= 25 * opts.seconds // 2 and state["webrtcup"] and pc.connectionState == "connected"
          and state["ice"] in ("completed", "connected")
          and any("hello from aiortc" in e for e in state["echoes"]))
    if opts.turn:
        log(f"relay candidate in Janus's answer: {state.get('relay_in_answer')}")
        ok = ok and state.get("relay_in_answer", False)
    if opts.force_relay:
        # Relay forced: Janus's answer has relayed candidates only, and the
        # pair aiortc's ICE nominated has one of them as its remote end.
        unrelayed = state.get("unrelayed_in_answer", [])
        log(f"non-relayed candidates in Janus's answer: {unrelayed}")
        conn = pc.getTransceivers()[0].receiver.transport.transport._connection
        nominated = [(p.local_candidate.type, p.remote_candidate.type) for p in conn._nominated.values()]
        log(f"nominated pairs (local, remote type): {nominated}")
        ok = ok and not unrelayed and nominated and all(r == "relay" for _, r in nominated)
    if opts.bench_json:
        rec = {"answer_ms": state["answer"] * 1000 if state["answer"] is not None else None,
               "client_ice_ms": t_ice * 1000 if t_ice else None, "client_dtls_ms": t_dtls * 1000 if t_dtls else None,
               "janus_ice_ms": janus_side.get("ice_ms"), "janus_dtls_ms": janus_side.get("dtls_ms"),
               "cpu_frac": cpu, "cpu_frac_ticks": cpu_tick, "cpu_window_s": window, "frames": state["frames"], "ok": bool(ok)}
        with open(opts.bench_json, "a") as f:
            f.write(json.dumps(rec) + "\n")
    r = await asyncio.to_thread(j.post, f"/{j.session}/{j.handle}", {"janus": "hangup"})
    log(f"hangup -> {r['janus']}")
    r = await asyncio.to_thread(j.post, f"/{j.session}", {"janus": "destroy"})
    log(f"destroy -> {r['janus']}")
    done.set()
    await pc.close()
    poller.cancel()
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# Inside the namespace: headless Chromium as the client
# ---------------------------------------------------------------------------

# The page talks to Janus's HTTP API itself, as janus.js does over REST
# (janus-run.md section 5), through the test's server (same origin; the
# server passes /janus/... on to 127.0.0.1:8088): create, attach, an offer
# with the fake camera's and microphone's tracks sent at once (trickle: true),
# its candidates trickled one by one and then {completed: true}, Janus's
# events long-polled (the answer, Janus's trickled candidates under
# full_trickle, webrtcup). After SECONDS of echo it reads getStats(), hangs
# up, destroys the session and POSTs what it saw to /result.
PAGE = """<!doctype html><pre id=out>running</pre><script>
const SECONDS = %(seconds)d;
const r = {ok: false, events: [], trickled: 0};
const t0 = performance.now();
const ms = () => Math.round(performance.now() - t0);
const note = m => { r.events.push(ms() + ' ' + m); fetch('/log', {method: 'POST', body: m}); };
const tx = () => Math.random().toString(36).slice(2, 14);
async function api(path, body) {
  body.transaction = tx();
  const res = await fetch('/janus' + path, {method: 'POST', body: JSON.stringify(body)});
  const j = await res.json();
  if (j.janus === 'error') throw new Error(path + ' ' + JSON.stringify(j.error));
  return j;
}
const sleep = t => new Promise(ok => setTimeout(ok, t));
(async () => {
  let sid, hid, pc, stop = false;
  try {
    sid = (await api('', {janus: 'create'})).data.id;
    hid = (await api('/' + sid, {janus: 'attach', plugin: 'janus.plugin.echotest'})).data.id;
    note('session ' + sid + ' handle ' + hid);
    pc = new RTCPeerConnection({iceServers: []});
    const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    stream.getTracks().forEach(t => pc.addTrack(t, stream));
    pc.oniceconnectionstatechange = () => {
      note('ICE state ' + pc.iceConnectionState);
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') r.iceMs = r.iceMs || ms();
    };
    pc.onconnectionstatechange = () => {
      note('PC state ' + pc.connectionState);
      if (pc.connectionState === 'connected') r.dtlsMs = r.dtlsMs || ms();
    };
    let offered;
    const offerSent = new Promise(ok => offered = ok);
    pc.onicecandidate = async e => {
      await offerSent;  // Janus takes trickles once it has the offer
      const c = e.candidate ? {candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
                               sdpMLineIndex: e.candidate.sdpMLineIndex} : {completed: true};
      if (e.candidate && !e.candidate.candidate) return;  // the empty end-of-candidates one
      if (e.candidate) r.trickled++;
      note('trickle to janus: ' + JSON.stringify(c));
      await api('/' + sid + '/' + hid, {janus: 'trickle', candidate: c});
    };
    await pc.setLocalDescription(await pc.createOffer());
    r.offerMs = ms();
    const ack = await api('/' + sid + '/' + hid, {janus: 'message', body: {audio: true, video: true},
                                                  jsep: {type: 'offer', sdp: pc.localDescription.sdp, trickle: true}});
    offered();
    note('offer -> ' + ack.janus);
    const pending = [];
    (async () => {
      while (!stop) {
        let evs;
        try {
          evs = await (await fetch('/janus/' + sid + '?maxev=5&rid=' + Date.now())).json();
        } catch (e) { await sleep(100); continue; }
        for (const ev of Array.isArray(evs) ? evs : [evs]) {
          if (ev.janus === 'keepalive') continue;
          if (ev.jsep && ev.jsep.type === 'answer') {
            r.answerMs = ms();
            note('answer');
            await pc.setRemoteDescription(ev.jsep);
            for (const c of pending.splice(0)) await pc.addIceCandidate(c);
          } else if (ev.janus === 'trickle') {
            const c = ev.candidate || {};
            note('trickle from janus: ' + JSON.stringify(c));
            if (c.candidate) {
              if (pc.remoteDescription) await pc.addIceCandidate(c); else pending.push(c);
            }
          } else if (ev.janus === 'webrtcup') {
            r.webrtcup = true;
            note('webrtcup');
          } else {
            note('event: ' + JSON.stringify(ev).slice(0, 200));
          }
        }
      }
    })();
    for (let i = 0; i < 150 && !(r.webrtcup && r.iceMs); i++) await sleep(100);
    await sleep(SECONDS * 1000);
    const stats = await pc.getStats();
    r.inbound = {};
    stats.forEach(s => {
      if (s.type === 'inbound-rtp') r.inbound[s.kind] = {bytesReceived: s.bytesReceived, packetsReceived: s.packetsReceived,
                                                         framesDecoded: s.framesDecoded};
      if (s.type === 'transport') r.dtls = {state: s.dtlsState, role: s.dtlsRole, srtpCipher: s.srtpCipher};
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        const l = stats.get(s.localCandidateId), rm = stats.get(s.remoteCandidateId);
        r.pair = (l && l.address + ':' + l.port + ' ' + l.candidateType) + ' -> ' + (rm && rm.address + ':' + rm.port + ' ' + rm.candidateType);
      }
    });
    r.ice = pc.iceConnectionState;
    r.pc = pc.connectionState;
    const a = r.inbound.audio || {}, v = r.inbound.video || {};
    r.ok = !!(r.webrtcup && (r.ice === 'connected' || r.ice === 'completed') && r.pc === 'connected' &&
              a.bytesReceived > 0 && v.bytesReceived > 0 && v.framesDecoded > 0);
    note('hangup -> ' + (await api('/' + sid + '/' + hid, {janus: 'hangup'})).janus);
    note('destroy -> ' + (await api('/' + sid, {janus: 'destroy'})).janus);
  } catch (e) { r.error = String(e); }
  stop = true;
  if (pc) pc.close();
  document.getElementById('out').textContent = JSON.stringify(r);
  fetch('/result', {method: 'POST', body: JSON.stringify(r)});
})();
</script>
"""


def chromium_client(opts):
    """Serve PAGE on 127.0.0.1, run headless Chromium on it, judge what it
    POSTs back. 0 if Chromium's ICE connected, Janus said webrtcup and audio
    and video came back (bytes received, video frames decoded)."""
    import http.server
    import threading

    if opts.sessions != 1:
        log("FAIL: --client chromium runs one session")
        return 1
    info = wait_http()
    log(f"janus {info.get('version_string')} answers")
    check_library(opts.janus_pid, opts.expect_lib)
    result = {}
    got = threading.Event()
    page = (PAGE % {"seconds": opts.seconds}).encode()
    # --bench-json: Janus's timestamps (admin API) counted from when the
    # proxy passed the offer on, and Janus's CPU from 1 s after webrtcup
    # until 1 s before the page stops (it echoes SECONDS after webrtcup).
    bench = {}
    measurer = None

    def measure():
        j = Janus()
        j.session, j.handle = bench["session"], bench["handle"]
        time.sleep(1)
        bench.update(admin_times(j, bench["t_offer"]))
        ns0, w0 = cpu_ns(opts.janus_pid), time.monotonic()
        time.sleep(max(opts.seconds - 2, 1))
        bench["window"] = time.monotonic() - w0
        bench["cpu"] = (cpu_ns(opts.janus_pid) - ns0) / 1e9 / bench["window"]

    def start_measuring():
        nonlocal measurer
        measurer = threading.Thread(target=measure, daemon=True)
        measurer.start()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body, ctype="application/json"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def janus(self, data=None):
            # Janus's API, passed on as it is (long polls block up to 30 s:
            # the server runs a thread per request).
            req = urllib.request.Request("http://127.0.0.1:8088" + self.path, data=data,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=40) as r:
                    self.reply(r.status, r.read())
            except OSError as e:
                self.reply(502, json.dumps({"janus": "error", "error": {"reason": repr(e)}}).encode())

        def do_GET(self):
            if self.path == "/":
                self.reply(200, page, "text/html; charset=utf-8")
            elif self.path.startswith("/janus"):
                self.janus()
            else:
                self.reply(404, b"{}")

        def do_POST(self):
            data = self.body()
            if self.path.startswith("/janus"):
                parts = self.path.split("?")[0].split("/")
                if b'"jsep"' in data and len(parts) == 4 and "t_offer" not in bench:
                    bench.update(t_offer=time.monotonic(), session=parts[2], handle=parts[3])
                self.janus(data)
            elif self.path == "/log":
                log(f"page: {data.decode(errors='replace')[:300]}")
                if data == b"webrtcup" and opts.bench_json and "t_offer" in bench and measurer is None:
                    start_measuring()
                self.reply(200, b"{}")
            elif self.path == "/result":
                result.update(json.loads(data))
                got.set()
                self.reply(200, b"{}")
            else:
                self.reply(404, b"{}")

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            # Chromium stopped with requests open (a long poll): not an error.
            if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
                super().handle_error(request, client_address)

    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    tmp = tempfile.mkdtemp(prefix="janus-chromium-")
    # The flag set of examples/webrtc-echo's TestChromium (chromium.md
    # section 1): --no-sandbox as root, no background traffic, fake devices
    # with permission granted (which also keeps host candidates as plain
    # addresses, not mDNS names, which Janus is told to ignore).
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
           f"--user-data-dir={tmp}/profile", url]
    env = dict(os.environ, TMPDIR=tmp)
    env.pop("LD_LIBRARY_PATH", None)
    stderr = open(f"{tmp}/chromium.log", "w+")
    log(f"chromium on {url}")
    chrome = subprocess.Popen(cmd, env=env, stdout=stderr, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not got.wait(opts.seconds + 25):
            log("FAIL: no result from the page")
            stderr.seek(0)
            print("---- chromium (last 40 lines)\n" + "".join(stderr.readlines()[-40:]))
            return 1
    finally:
        stop_chromium(chrome)
        srv.shutdown()
        stderr.close()
        shutil.rmtree(tmp, ignore_errors=True)
    inbound = result.get("inbound", {})
    a, v = inbound.get("audio", {}), inbound.get("video", {})
    since = lambda k: f"{result[k] - result['offerMs']:.0f}" if result.get(k) and result.get("offerMs") else "-"
    log(f"TIMING: offer->answer {since('answerMs')} ms, offer->ICE connected {since('iceMs')} ms, "
        f"offer->DTLS connected {since('dtlsMs')} ms; candidates trickled to janus: {result.get('trickled')}")
    log(f"RESULT: ice={result.get('ice')}, pc={result.get('pc')}, webrtcup={result.get('webrtcup')}, "
        f"dtls={result.get('dtls')}, pair={result.get('pair')}")
    log(f"RESULT: inbound audio bytes={a.get('bytesReceived')} packets={a.get('packetsReceived')}; "
        f"video bytes={v.get('bytesReceived')} packets={v.get('packetsReceived')} "
        f"framesDecoded={v.get('framesDecoded')}")
    if result.get("error"):
        log(f"page error: {result['error']}")
    if measurer is not None:
        measurer.join(timeout=10)
        log(f"TIMING (Janus's admin API, from the proxied offer): offer->ICE connected "
            f"{bench.get('ice_ms', float('nan')):.1f} ms, offer->DTLS connected {bench.get('dtls_ms', float('nan')):.1f} ms, "
            f"janus CPU while echoing {bench.get('cpu', float('nan')) * 100:.2f} %")
    if opts.bench_json:
        ms = lambda k: result[k] - result["offerMs"] if result.get(k) and result.get("offerMs") else None
        rec = {"answer_ms": ms("answerMs"), "client_ice_ms": ms("iceMs"), "client_dtls_ms": ms("dtlsMs"),
               "janus_ice_ms": bench.get("ice_ms"), "janus_dtls_ms": bench.get("dtls_ms"),
               "cpu_frac": bench.get("cpu"), "cpu_window_s": bench.get("window"), "ok": bool(result.get("ok"))}
        with open(opts.bench_json, "a") as f:
            f.write(json.dumps(rec) + "\n")
    if not result.get("ok"):
        log("FAIL: the page's result: " + json.dumps(result)[:2000])
        return 1
    return 0


def stop_chromium(p):
    """SIGTERM to Chromium's process group, then wait until its helpers are
    gone too (chromium.md section 6) before its directories are removed."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libnice", default="system", help="directory of the libnice.so.10 to run Janus on, or 'system'")
    ap.add_argument("--full-trickle", action="store_true", help="Janus's full_trickle = true")
    ap.add_argument("--turn", action="store_true",
                    help="coturn in the namespace as Janus's TURN server; Janus's answer must carry a relay candidate")
    ap.add_argument("--force-relay", action="store_true", help="with --turn: the offer asks Janus to force relay")
    ap.add_argument("--ice-lite", action="store_true", help="Janus's ice_lite = true")
    ap.add_argument("--ice-tcp", action="store_true",
                    help="Janus's ice_tcp = true (Janus wants --ice-lite with it), and every UDP datagram in the "
                    "namespace dropped (nftables): the client must reach Janus over ICE-TCP")
    ap.add_argument("--daemon", action="store_true", help="start janus --daemon (it forks before its first libnice call)")
    ap.add_argument("--seconds", type=int, default=4, help="how long media flows")
    ap.add_argument("--sessions", type=int, default=1,
                    help="sessions one after another; with more than one, Janus's threads, fds and RSS must stay flat")
    ap.add_argument("--client", choices=("aiortc", "chromium"), default="aiortc",
                    help="aiortc (audio and a data channel) or headless Chromium (fake camera and microphone)")
    ap.add_argument("--bench-json", metavar="FILE",
                    help="append one JSON line per session (timings, Janus's CPU) to FILE (tests/janus/bench.py)")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--janus-pid", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--expect-lib", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.inside:
        try:
            rc = chromium_client(opts) if opts.client == "chromium" else asyncio.run(client(opts))
        except Exception as e:  # report, do not hang
            log(f"FAIL: {e!r}")
            rc = 1
        # Not sys.exit: asyncio.run's executor would wait for a thread still
        # in a long poll of Janus (up to 30 s) before the process ends.
        sys.stdout.flush()
        os._exit(rc)
    sys.exit(outside(opts))


if __name__ == "__main__":
    main()
