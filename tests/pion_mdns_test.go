// SPDX-License-Identifier: MIT

package tests

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/pion/ice/v4"
)

// mdnsNetnsEnv marks the test binary re-executed by TestPionMDNS in a
// network namespace of its own.
const mdnsNetnsEnv = "GONICE_MDNS_NETNS"

// mdnsNet is the namespace's network: a veth pair, gonice on one end, pion
// on the other; multicast (mDNS) crosses it and loops back on each end.
var mdnsNet = struct{ gonice, pion netip.Addr }{netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2")}

// TestPionMDNS: pion/ice v4 with mDNS on (MulticastDNSModeQueryAndGather)
// hides its host address behind "<uuid>.local"; gonice with
// Config.MulticastDNS resolves it with pion/mdns v0.0.8 and connects to the
// host candidate it names, with no peer-reflexive discovery: pion gets
// gonice's candidates only after gonice resolved the name, so no check of
// pion's can come first. It runs in a network namespace of its own (a veth
// pair; mDNS must not leave this machine or meet its responder), which it
// makes by re-executing the test binary; that needs root.
func TestPionMDNS(t *testing.T) {
	if os.Getenv(mdnsNetnsEnv) == "" {
		reexecInNetns(t, "^TestPionMDNS$")
		return
	}
	setupMDNSNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()

	ga, err := nice.NewAgent(nice.Config{Controlling: true, MulticastDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ga.Close()
	if err := ga.AddLocalAddress(mdnsNet.gonice); err != nil {
		t.Fatal(err)
	}
	sid, err := ga.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		prflx    []nice.Candidate
		readyCh  = make(chan struct{})
		gathered = make(chan struct{})
	)
	var readyOnce, gatheredOnce sync.Once
	ga.OnNewRemoteCandidate(func(c nice.Candidate) {
		mu.Lock()
		prflx = append(prflx, c)
		mu.Unlock()
	})
	ga.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			readyOnce.Do(func() { close(readyCh) })
		}
	})
	ga.OnCandidateGatheringDone(func(int) { gatheredOnce.Do(func() { close(gathered) }) })
	if err := ga.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}

	pa, err := ice.NewAgentWithOptions(
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithInterfaceFilter(func(name string) bool { return name == "pn0" }),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeQueryAndGather),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Close()
	var pionCands []ice.Candidate
	pionGathered := make(chan struct{})
	if err := pa.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(pionGathered)
			return
		}
		pionCands = append(pionCands, c)
	}); err != nil {
		t.Fatal(err)
	}
	if err := pa.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	for what, ch := range map[string]chan struct{}{"gonice gathering": gathered, "pion gathering": pionGathered} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	if len(pionCands) != 1 {
		t.Fatalf("pion gathered %d candidates, want 1", len(pionCands))
	}
	line := "a=candidate:" + pionCands[0].Marshal()
	name := pionCands[0].Address()
	if !strings.HasSuffix(name, ".local") {
		t.Fatalf("pion's candidate %q is not an mDNS one", line)
	}
	t.Logf("pion's candidate: %s", line)

	pUfrag, pPwd, err := pa.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.SetRemoteCredentials(sid, pUfrag, pPwd); err != nil {
		t.Fatal(err)
	}
	gc, err := ga.ParseRemoteCandidateSDP(sid, line)
	if err != nil {
		t.Fatal(err)
	}
	if gc.Hostname != name {
		t.Fatalf("parsed Hostname %q, want %q", gc.Hostname, name)
	}
	start := time.Now()
	if n, err := ga.SetRemoteCandidates(sid, 1, []nice.Candidate{gc}); err != nil || n != 1 {
		t.Fatalf("SetRemoteCandidates = %d, %v; want 1", n, err)
	}
	want := netip.AddrPortFrom(mdnsNet.pion, uint16(pionCands[0].Port()))
	for {
		rs, err := ga.RemoteCandidates(sid, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 1 {
			if rs[0].Addr != want || rs[0].Hostname != name || rs[0].Type != nice.CandidateTypeHost {
				t.Fatalf("resolved remote candidate %+v, want host %v named %s", rs[0], want, name)
			}
			break
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("gonice did not resolve %s", name)
		}
	}
	t.Logf("gonice resolved %s to %v in %v", name, want.Addr(), time.Since(start).Round(time.Millisecond))

	gUfrag, gPwd, err := ga.LocalCredentials(sid)
	if err != nil {
		t.Fatal(err)
	}
	local, err := ga.LocalCandidates(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range local {
		pc, err := ice.UnmarshalCandidate(strings.TrimPrefix(ga.GenerateLocalCandidateSDP(c), "a="))
		if err != nil {
			t.Fatal(err)
		}
		if err := pa.AddRemoteCandidate(pc); err != nil {
			t.Fatal(err)
		}
	}
	pconn := pionConnect(t, ctx, pa, true, gUfrag, gPwd)
	select {
	case <-readyCh:
	case <-ctx.Done():
		t.Fatal("gonice never READY")
	}
	_, rc, err := ga.SelectedPair(sid, 1)
	if err != nil || rc.Type != nice.CandidateTypeHost || rc.Addr != want || rc.Hostname != name {
		t.Errorf("gonice selected remote %+v, %v; want the host candidate %v (%s)", rc, err, want, name)
	}
	mu.Lock()
	if len(prflx) != 0 {
		t.Errorf("peer-reflexive discovery happened: %v", prflx)
	}
	mu.Unlock()
	gconn, err := ga.Conn(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer gconn.Close()
	transfer(t, ctx, "gonice -> pion", gconn, pconn, []byte("hello pion behind mDNS"))
	transfer(t, ctx, "pion -> gonice", pconn, gconn, []byte("hello gonice"))
	t.Logf("connected to %s (%v) without peer-reflexive discovery", name, want)
}

// reexecInNetns runs the test named by pattern in this test binary again,
// in a new network namespace, and fails if it fails there. It needs root;
// without root the test is skipped, except under CI=true.
func reexecInNetns(t *testing.T, pattern string) {
	t.Helper()
	if os.Geteuid() != 0 {
		msg := "needs root for a network namespace of its own (mDNS multicast must stay off the real network)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so this is a failure")
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("ip (iproute2) not found: %v", err)
	}
	args := []string{"-test.run", pattern, "-test.v", "-test.count=1"}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Env = append(os.Environ(), mdnsNetnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed in its network namespace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+strings.Trim(pattern, "^$")) {
		t.Fatal("the test did not pass in its network namespace")
	}
}

// setupMDNSNet makes the namespace's network (mdnsNet).
func setupMDNSNet(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "gn0", "type", "veth", "peer", "name", "pn0"},
		{"addr", "add", mdnsNet.gonice.String() + "/24", "dev", "gn0"},
		{"addr", "add", mdnsNet.pion.String() + "/24", "dev", "pn0"},
		{"link", "set", "gn0", "up"},
		{"link", "set", "pn0", "up"},
		{"route", "add", "224.0.0.0/4", "dev", "gn0"},
	} {
		runIP(t, args...)
	}
}

// TestPionMDNSHidden: a gonice agent with Config.MDNSHostNames signals its
// host candidate as "<uuid>.local" (its address appears nowhere in what it
// signals) and answers mDNS queries for it; pion/ice v4 with
// MulticastDNSModeQueryOnly resolves the name and, as controlling agent,
// connects to that host candidate. gonice gets pion's credentials only
// and learns pion from its checks. In a network namespace, as TestPionMDNS.
func TestPionMDNSHidden(t *testing.T) {
	if os.Getenv(mdnsNetnsEnv) == "" {
		reexecInNetns(t, "^TestPionMDNSHidden$")
		return
	}
	setupMDNSNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()

	ga, err := nice.NewAgent(nice.Config{MDNSHostNames: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ga.Close()
	if err := ga.AddLocalAddress(mdnsNet.gonice); err != nil {
		t.Fatal(err)
	}
	sid, err := ga.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	gathered, ready := make(chan struct{}), make(chan struct{})
	var gatheredOnce, readyOnce sync.Once
	ga.OnCandidateGatheringDone(func(int) { gatheredOnce.Do(func() { close(gathered) }) })
	ga.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			readyOnce.Do(func() { close(ready) })
		}
	})
	if err := ga.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("gonice gathering")
	}
	local, err := ga.LocalCandidates(sid, 1)
	if err != nil || len(local) != 1 {
		t.Fatalf("LocalCandidates = %v, %v", local, err)
	}
	line := ga.GenerateLocalCandidateSDP(local[0])
	sdp := ga.GenerateLocalSDP()
	if local[0].Hostname == "" || !strings.Contains(line, local[0].Hostname) ||
		strings.Contains(line, mdnsNet.gonice.String()) || strings.Contains(sdp, mdnsNet.gonice.String()) {
		t.Fatalf("gonice's candidate %q (SDP %q) does not hide %v behind its name", line, sdp, mdnsNet.gonice)
	}
	t.Logf("gonice's candidate: %s", line)

	pa, err := ice.NewAgentWithOptions(
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithInterfaceFilter(func(name string) bool { return name == "pn0" }),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeQueryOnly),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Close()
	pionGathered := make(chan struct{})
	if err := pa.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(pionGathered)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := pa.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	<-pionGathered
	pUfrag, pPwd, err := pa.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.SetRemoteCredentials(sid, pUfrag, pPwd); err != nil {
		t.Fatal(err)
	}
	gUfrag, gPwd, err := ga.LocalCredentials(sid)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ice.UnmarshalCandidate(strings.TrimPrefix(line, "a="))
	if err != nil {
		t.Fatal(err)
	}
	if err := pa.AddRemoteCandidate(pc); err != nil {
		t.Fatal(err)
	}
	pconn := pionConnect(t, ctx, pa, false, gUfrag, gPwd)
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("gonice never READY")
	}
	pair, err := pa.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("pion GetSelectedCandidatePair: %v, %v", pair, err)
	}
	t.Logf("pion's selected pair: %s", pair)
	if pair.Remote.Type() != ice.CandidateTypeHost || pair.Remote.Port() != int(local[0].Addr.Port()) {
		t.Errorf("pion's selected remote candidate %s, want gonice's host candidate (port %d)", pair.Remote, local[0].Addr.Port())
	}
	gconn, err := ga.Conn(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer gconn.Close()
	transfer(t, ctx, "gonice -> pion", gconn, pconn, []byte("from behind a name"))
	transfer(t, ctx, "pion -> gonice", pconn, gconn, []byte("found you"))
}
