#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Janus EchoTest side by side: Debian's janus 1.1.2 on Debian's libnice and
on the drop-in, alternating.

    tests/janus/bench.py --impl libnice=system --impl dropin=build/capi/compat/libnice \\
        --rounds 5 --sessions 4 --seconds 6 --out build/bench/janus.md --log build/bench/janus.jsonl

Every round starts Janus once per implementation (the order rotates from
round to round, so neither always runs first) and runs SESSIONS EchoTest
sessions one after another from aiortc through tests/janus/echotest.py
(--bench-json), which records per session:

- offer -> ICE connected and offer -> DTLS connected as Janus saw them: the
  timestamps of its admin API (handle_info: webrtc.ice.connected, the
  component's CONNECTED; webrtc.dtls.connected, the handshake done), on
  CLOCK_MONOTONIC like the client's clock of the offer. They time the
  server's ICE agent, the thing swapped, without the long poll that carries
  Janus's events to the client;
- the same from aiortc's side (its iceConnectionState "completed", its
  connectionState "connected") and the time to the answer;
- Janus's CPU while it echoes one session (Opus at 50 packets/s each way
  and the data channel) for SECONDS-1 s, one second after the offer: the
  sum of its threads' time on CPU (/proc/PID/task/*/schedstat) over the
  window, as a share of one core; utime+stime from /proc/PID/stat is
  recorded too (10 ms ticks).

With --client chromium, every round also runs CHROMIUM_RUNS headless
Chromium sessions per implementation (audio and video from Chromium's fake
devices, candidates trickled); their timings are the page's (offer ->
ICE connected, -> DTLS connected; the answer comes through a long poll) and
Janus's admin API's, counted from when the test's proxy passed the offer on.

The report: per implementation the median over all sessions, the spread
(min-max of the round medians), and per round the ratio of each
implementation's round median to the first --impl's; the ratio column is
the median of those per-round ratios. The machine is shared and noisy:
read the ratios, not one absolute time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ECHOTEST = os.path.join(HERE, "echotest.py")

# (record key, column title, scale, unit)
METRICS = [
    ("janus_ice_ms", "offer → ICE connected (Janus)", 1, "ms"),
    ("janus_dtls_ms", "offer → DTLS connected (Janus)", 1, "ms"),
    ("client_ice_ms", "offer → ICE completed (aiortc)", 1, "ms"),
    ("client_dtls_ms", "offer → DTLS connected (aiortc)", 1, "ms"),
    ("answer_ms", "offer → answer at the client", 1, "ms"),
    ("cpu_frac", "Janus CPU per echoing session", 100, "% of a core"),
]
CHROMIUM_METRICS = [
    ("janus_ice_ms", "offer → ICE connected (Janus)", 1, "ms"),
    ("janus_dtls_ms", "offer → DTLS connected (Janus)", 1, "ms"),
    ("client_ice_ms", "offer → ICE connected (Chromium)", 1, "ms"),
    ("client_dtls_ms", "offer → DTLS connected (Chromium)", 1, "ms"),
    ("answer_ms", "offer → answer (Chromium)", 1, "ms"),
    ("cpu_frac", "Janus CPU per echoing session", 100, "% of a core"),
]


def log(msg):
    print(f"bench: {msg}", flush=True)


def run_one(impl, lib, client, sessions, seconds, rnd, tmpdir):
    """One Janus start on lib with `sessions` sessions; the session records."""
    out = os.path.join(tmpdir, f"r{rnd}-{impl}-{client}.jsonl")
    cmd = [sys.executable, ECHOTEST, "--libnice", lib, "--seconds", str(seconds), "--sessions", str(sessions),
           "--client", client, "--bench-json", out]
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    recs = []
    if os.path.exists(out):
        with open(out) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    for r in recs:
        r.update(impl=impl, round=rnd, client=client)
    ok = p.returncode == 0 and len(recs) == sessions and all(r.get("ok") for r in recs)
    log(f"round {rnd} {impl} ({client}): {'ok' if ok else 'FAILED (exit %d)' % p.returncode}, "
        f"{len(recs)} sessions in {time.monotonic() - t0:.1f} s")
    if p.returncode == 77:
        print(p.stdout)
        sys.exit(77)
    if not ok:
        print("---- echotest.py output (last 40 lines)\n" + "\n".join(p.stdout.splitlines()[-40:]))
    return recs, ok


def fmt(v, scale):
    if v is None:
        return "–"
    v *= scale
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def table(recs, impls, metrics, title):
    """Markdown: per metric and implementation, the median, the spread of the
    round medians, and the median per-round ratio to impls[0]."""
    base = impls[0]
    rounds = sorted({r["round"] for r in recs})
    lines = [f"### {title}", "",
             f"Median over all sessions; round medians (min–max); ratio = median over rounds of "
             f"(round median ÷ {base}'s round median). n = sessions.", "",
             "| metric | " + " | ".join(f"{i} median" for i in impls) + " | "
             + " | ".join(f"{i} round medians" for i in impls) + " | "
             + " | ".join(f"{i} ÷ {base}" for i in impls[1:]) + " | per-round ratios |",
             "|---" * (1 + 2 * len(impls) + len(impls) - 1 + 1) + "|"]
    for key, name, scale, unit in metrics:
        med, spread, per_round = {}, {}, {}
        for i in impls:
            vals = [r[key] for r in recs if r["impl"] == i and r.get(key) is not None]
            med[i] = statistics.median(vals) if vals else None
            rm = {}
            for rnd in rounds:
                v = [r[key] for r in recs if r["impl"] == i and r["round"] == rnd and r.get(key) is not None]
                if v:
                    rm[rnd] = statistics.median(v)
            per_round[i] = rm
            spread[i] = (min(rm.values()), max(rm.values())) if rm else None
        ratios, ratio_text = {}, []
        for i in impls[1:]:
            rs = [per_round[i][rnd] / per_round[base][rnd] for rnd in rounds
                  if rnd in per_round[i] and rnd in per_round[base] and per_round[base][rnd] > 0]
            ratios[i] = statistics.median(rs) if rs else None
            ratio_text.append(", ".join(f"{x:.2f}" for x in rs))
        n = {i: sum(1 for r in recs if r["impl"] == i and r.get(key) is not None) for i in impls}
        row = [f"{name} ({unit})"]
        row += [f"**{fmt(med[i], scale)}** (n={n[i]})" for i in impls]
        row += [f"{fmt(spread[i][0], scale)}–{fmt(spread[i][1], scale)}" if spread[i] else "–" for i in impls]
        row += [f"**{ratios[i]:.2f}**" if ratios[i] is not None else "–" for i in impls[1:]]
        row += ["; ".join(ratio_text)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", action="append", required=True, metavar="NAME=LIB",
                    help="an implementation: a name and the directory of its libnice.so.10, or 'system' "
                         "(repeat; the first is the baseline of the ratios)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=4, help="aiortc sessions per Janus start")
    ap.add_argument("--seconds", type=int, default=6, help="how long each session echoes (CPU over SECONDS-1 s)")
    ap.add_argument("--client", choices=("aiortc", "chromium", "both"), default="aiortc")
    ap.add_argument("--chromium-runs", type=int, default=1, help="Chromium sessions per implementation per round")
    ap.add_argument("--out", help="write the report (markdown) here")
    ap.add_argument("--log", help="append every session's record (JSON lines) here")
    opts = ap.parse_args()
    impls, libs = [], {}
    for spec in opts.impl:
        name, _, lib = spec.partition("=")
        if not lib:
            ap.error(f"--impl {spec}: want NAME=LIB")
        impls.append(name)
        libs[name] = lib if lib == "system" else os.path.abspath(lib)
    clients = ["aiortc", "chromium"] if opts.client == "both" else [opts.client]
    with open("/proc/loadavg") as f:
        load0 = " ".join(f.read().split()[:3])
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    recs, failures = [], 0
    with tempfile.TemporaryDirectory(prefix="janus-bench-") as tmp:
        for rnd in range(1, opts.rounds + 1):
            k = (rnd - 1) % len(impls)
            order = impls[k:] + impls[:k]
            for client in clients:
                # aiortc: one Janus start with SESSIONS sessions; Chromium: a
                # Janus start per session (echotest.py runs one page).
                reps, n = (1, opts.sessions) if client == "aiortc" else (opts.chromium_runs, 1)
                for _ in range(reps):
                    for impl in order:
                        got, ok = run_one(impl, libs[impl], client, n, opts.seconds, rnd, tmp)
                        failures += not ok
                        recs += got
                        if opts.log:
                            with open(opts.log, "a") as f:
                                for r in got:
                                    f.write(json.dumps(r) + "\n")
    with open("/proc/loadavg") as f:
        load1 = " ".join(f.read().split()[:3])
    try:
        rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
    except OSError:
        rev = "?"
    report = [f"## Janus 1.1.2 EchoTest: {' vs '.join(impls)}", "",
              f"- date: {start}; gonice {rev}; {os.cpu_count()} CPUs; load average {load0} at the start, "
              f"{load1} at the end",
              f"- {opts.rounds} rounds, the order of the implementations rotating; per round and implementation "
              f"one Janus start with {opts.sessions} aiortc sessions one after another"
              + (f" and {opts.chromium_runs} Chromium session(s), each its own Janus start" if "chromium" in clients else "")
              + f"; {opts.seconds} s of echo per session",
              "- libraries: " + ", ".join(f"{i} = {libs[i]}" for i in impls),
              f"- command: `{' '.join([os.path.relpath(sys.argv[0])] + sys.argv[1:])}`",
              f"- failed Janus runs: {failures}", ""]
    for client in clients:
        sub = [r for r in recs if r["client"] == client and r.get("ok")]
        title = "aiortc client (Opus audio + data channel, half-trickle)" if client == "aiortc" else \
            "headless Chromium client (audio + video, trickled candidates)"
        report.append(table(sub, impls, METRICS if client == "aiortc" else CHROMIUM_METRICS, title))
    text = "\n".join(report)
    print(text)
    if opts.out:
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        with open(opts.out, "w") as f:
            f.write(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
