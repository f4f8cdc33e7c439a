// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// variant is one implementation run one way.
type variant struct {
	name string   // as printed
	impl string   // gonice, pion, raw-go, gonice-c, libnice, raw-c
	args []string // extra worker options
}

// result is one worker's output.
type result map[string]any

func (r result) f(key string) float64 {
	v, _ := r[key].(float64)
	return v
}

type driver struct {
	self, bin string
	quick     bool
	log       io.Writer
	// results[test][variant][round]
	results map[string]map[string][]result
}

func runDriver(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	rounds := fs.Int("rounds", 5, "alternating rounds")
	tests := fs.String("tests", "connect,throughput,idle,scale,srtp,srtp-path,mux,mux-pps", "tests to run")
	quick := fs.Bool("quick", false, "smoke run: 1 round, few runs, short windows (checks the harness; figures mean little)")
	out := fs.String("out", "", "also write the report (markdown) to this file")
	bin := fs.String("bin", "build/bench", "directory of the C workers")
	logPath := fs.String("log", "", "append every worker's JSON result to this file")
	_ = fs.Parse(args)
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	d := &driver{self: self, bin: *bin, quick: *quick, log: io.Discard, results: map[string]map[string][]result{}}
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fatalf("%v", err)
		}
		defer f.Close()
		d.log = f
	}
	if *quick {
		*rounds = 1
	}
	want := map[string]bool{}
	for _, t := range strings.Split(*tests, ",") {
		want[strings.TrimSpace(t)] = true
	}
	header := d.header(*rounds, strings.Join(os.Args, " "))
	fmt.Fprint(os.Stderr, header)
	for r := range *rounds {
		for _, t := range []string{"connect", "throughput", "mux-pps", "idle", "srtp", "srtp-path"} {
			if want[t] {
				d.round(t, r)
			}
		}
	}
	if want["scale"] {
		d.runOne("scale", variant{name: "gonice", impl: "gonice"}, d.testArgs("scale"))
	}
	if want["mux"] {
		for _, v := range variants("mux") {
			args := d.testArgs("mux")
			if d.quick {
				v.args = append(v.args, "--agents", "2000") // the last --agents counts
			}
			d.runOne("mux", v, args)
		}
	}
	var rep bytes.Buffer
	rep.WriteString(header)
	d.report(&rep, *rounds)
	fmt.Fprintf(&rep, "\nload average at the end: %s\n", loadavg())
	os.Stdout.Write(rep.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, rep.Bytes(), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

// variants lists what a test compares, in the order of the tables.
func variants(test string) []variant {
	reg, agg := []string{"--nomination", "regular"}, []string{"--nomination", "aggressive"}
	thread, disp := []string{"--mode", "thread"}, []string{"--mode", "dispatch"}
	burst32 := []string{"--burst", "32"}
	switch test {
	case "connect":
		return []variant{
			{"gonice regular", "gonice", reg}, {"gonice aggressive", "gonice", agg},
			{"gonice-c regular", "gonice-c", append(reg, thread...)},
			{"gonice-c aggressive", "gonice-c", append(agg, thread...)},
			{"libnice regular", "libnice", reg}, {"libnice aggressive", "libnice", agg},
			{"pion", "pion", nil},
			// The goal's reference: two raw-UDP round trips, each socket
			// read by a goroutine (thread) of its own (worker_raw_connect.go,
			// c/rawudp_worker.c).
			{"raw-go ping-pong", "raw-go", nil}, {"raw-c ping-pong", "raw-c", nil},
		}
	case "throughput":
		return []variant{
			{"gonice", "gonice", nil}, {"gonice-c thread", "gonice-c", thread},
			{"gonice-c dispatch", "gonice-c", disp}, {"libnice", "libnice", nil},
			{"pion", "pion", nil}, {"raw-go", "raw-go", nil}, {"raw-c", "raw-c", nil},
			// Batched sends: 32 datagrams per call (sendmmsg in both).
			{"gonice burst 32", "gonice", burst32}, {"gonice-c burst 32", "gonice-c", append(burst32, thread...)},
			{"libnice burst 32", "libnice", burst32},
		}
	case "srtp":
		// Protect only, one thread: gonice (Transport.ProtectRTP),
		// pion/srtp/v2 and Debian's libsrtp2, per profile.
		var vs []variant
		for _, p := range []string{"aes-cm-80", "aes-cm-32", "gcm-128", "gcm-256"} {
			prof := []string{"--profile", p}
			vs = append(vs, variant{"gonice " + p, "gonice", prof}, variant{"pion/srtp " + p, "pion", prof},
				variant{"libsrtp2 " + p, "libsrtp2", prof})
		}
		return vs
	case "srtp-path":
		// The throughput test through DTLS-SRTP (WriteRTP → OnRTP) beside
		// the plain path (Send → receive function), gonice only.
		vs := []variant{{"plain", "gonice", nil}}
		for _, p := range []string{"aes-cm-80", "aes-cm-32", "gcm-128", "gcm-256"} {
			vs = append(vs, variant{p, "gonice", []string{"--profile", p}})
		}
		return vs
	case "mux":
		return []variant{
			// Agents in all (half on the mux): the full variant, whose
			// server agents check consent too, at 100,000; 200,000 overload
			// this 2-core machine (BENCHMARKS.md). Quick runs: 2,000.
			{"full server agents", "gonice", []string{"--agents", "100000"}},
			{"ICE-lite server agents", "gonice", []string{"--lite", "--agents", "200000"}},
		}
	case "mux-pps":
		// Many clients flooding one mux port; the reference is the same
		// traffic between plain sockets (recvmmsg, sendmmsg).
		// Two arrangements, each compared with its own: the clients
		// (senders) in the mux's process, or in a second process.
		apart := []string{"--clients", "process"}
		return []variant{{"gonice", "gonice", nil}, {"raw-c", "raw-c", nil},
			{"gonice 2 processes", "gonice", apart}, {"raw-c 2 processes", "raw-c", apart}}
	case "idle":
		return []variant{
			{"gonice", "gonice", nil}, {"gonice consent off", "gonice", []string{"--consent", "off"}},
			{"gonice-c thread", "gonice-c", thread},
			{"gonice-c dispatch", "gonice-c", disp}, {"libnice", "libnice", nil},
			{"libnice consent on", "libnice", []string{"--consent", "on"}},
			{"pion", "pion", nil},
		}
	}
	return nil
}

// testArgs are the options of a test, full or quick.
func (d *driver) testArgs(test string) []string {
	q := d.quick
	pick := func(full, quick string) string {
		if q {
			return quick
		}
		return full
	}
	switch test {
	case "connect":
		return []string{"--runs", pick("20", "3")}
	case "throughput", "srtp-path", "srtp":
		return []string{"--size", "1200", "--seconds", pick("3", "0.5"), "--warmup", "0.2"}
	case "idle":
		// The CPU window is 25 s long: one period of libnice's keepalives
		// (it sends nothing else when idle), five of RFC 7675 consent
		// checks, twelve and a half of pion's 2 s keepalive checks.
		return []string{"--pairs", pick("200", "10"), "--mem-at", pick("2", "1"),
			"--cpu-from", pick("12", "1"), "--cpu-to", pick("37", "2")}
	case "mux-pps":
		// 2 senders, 32 datagrams per sendmmsg (SendMessages), as in
		// issue 12's goal: 1,000 pairs, 1200 B.
		return []string{"--pairs", pick("1000", "100"), "--senders", "2", "--burst", "32",
			"--size", "1200", "--seconds", pick("3", "0.3"), "--warmup", pick("0.5", "0.2")}
	case "mux":
		// 100,000 server agents on one port and as many clients.
		return []string{"--mem-at", pick("3", "1"), "--cpu-from", pick("12", "2"), "--cpu-to", pick("37", "7"),
			"--probe-for", pick("12", "6"), "--sends", pick("20000", "2000")}
	case "scale":
		return []string{"--agents", pick("10000", "200"), "--mem-at", pick("2", "1"),
			"--cpu-from", pick("12", "1"), "--cpu-to", pick("37", "2"), "--probe-for", pick("30", "5")}
	}
	return nil
}

// round runs every variant of a test once, starting at a rotating offset.
func (d *driver) round(test string, r int) {
	vs := variants(test)
	for i := range vs {
		v := vs[(i+r)%len(vs)]
		d.runOne(test, v, d.testArgs(test))
	}
}

func (d *driver) runOne(test string, v variant, args []string) {
	var cmd *exec.Cmd
	wtest := test
	if test == "srtp-path" {
		wtest = "throughput"
	}
	full := append(append([]string{wtest}, args...), v.args...)
	switch v.impl {
	case "gonice", "pion", "raw-go":
		cmd = exec.Command(d.self, append([]string{"worker", v.impl}, full...)...)
	case "gonice-c":
		cmd = exec.Command(filepath.Join(d.bin, "gonice_worker"), full...)
	case "libnice":
		cmd = exec.Command(filepath.Join(d.bin, "libnice_worker"), full...)
	case "raw-c":
		prog := "rawudp_worker"
		if test == "mux-pps" {
			prog = "rawmux_worker"
		}
		cmd = exec.Command(filepath.Join(d.bin, prog), full...)
	case "libsrtp2":
		cmd = exec.Command(filepath.Join(d.bin, "srtp_worker"), full...)
	default:
		fatalf("unknown implementation %q", v.impl)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	fmt.Fprintf(os.Stderr, "nicebench: %-10s %-22s ", test, v.name)
	if err := cmd.Run(); err != nil {
		fatalf("\n%s %s failed: %v\n%s", v.name, test, err, stderr.String())
	}
	var res result
	line := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal(line, &res); err != nil {
		fatalf("\n%s %s: bad output %q: %v\n%s", v.name, test, stdout.String(), err, stderr.String())
	}
	fmt.Fprintf(os.Stderr, "%5.1fs  %s\n", time.Since(start).Seconds(), line)
	res["variant"], res["test"] = v.name, test
	if b, err := json.Marshal(res); err == nil {
		fmt.Fprintf(d.log, "%s\n", b)
	}
	if d.results[test] == nil {
		d.results[test] = map[string][]result{}
	}
	d.results[test][v.name] = append(d.results[test][v.name], res)
}

// header describes the machine and the versions.
func (d *driver) header(rounds int, cmdline string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# nicebench: gonice, libnice and pion/ice side by side\n\n")
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s, %d CPUs, %s RAM, kernel %s\n", cpuModel(), runtime.NumCPU(), memTotal(), kernel())
	fmt.Fprintf(&b, "- load average at the start: %s\n", loadavg())
	fmt.Fprintf(&b, "- versions: gonice %s, %s, libnice %s, pion/ice %s\n", gitCommit(), runtime.Version(), cmdOut("pkg-config", "--modversion", "nice"), depVersion("github.com/pion/ice/v4"))
	mode := fmt.Sprintf("%d alternating rounds (the order of the variants rotates every round)", rounds)
	if d.quick {
		mode = "QUICK smoke run: 1 round, few runs, short windows — these figures only show that the harness works"
	}
	fmt.Fprintf(&b, "- %s\n- command: `%s`\n\n", mode, cmdline)
	return b.String()
}

func cmdOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func gitCommit() string {
	c := cmdOut("git", "rev-parse", "--short", "HEAD")
	if c != "unknown" && cmdOut("git", "status", "--porcelain", "--untracked-files=no") != "" {
		c += "+changes"
	}
	return c
}

func depVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "unknown"
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func cpuModel() string {
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	for _, l := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			var kb float64
			fmt.Sscan(f[1], &kb)
			return fmt.Sprintf("%.0f GiB", kb/(1<<20))
		}
	}
	return "unknown"
}

func kernel() string { return strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")) }

func loadavg() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
