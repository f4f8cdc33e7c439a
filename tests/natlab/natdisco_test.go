// SPDX-License-Identifier: MIT

package natlab

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Debian's verdicts (stun-client 0.97, "stun SERVER -v"), as it printed
// them in this lab (natlab.md §0 and §5.1): the text of its "Primary: "
// line, which ends with a tab that is trimmed here. gonice's stunclient
// --nat-type words its verdict the same way.
var wantVerdict = map[NAT]string{
	FullCone:       "Independent Mapping, Independent Filter, preserves ports, no hairpin",
	Restricted:     "Independent Mapping, Address Dependent Filter, preserves ports, no hairpin",
	PortRestricted: "Independent Mapping, Port Dependent Filter, preserves ports, no hairpin",
	Symmetric:      "Dependent Mapping, random port, no hairpin",
}

// Debian's client exits with its verdict code ("Return value is 0x0000NN"
// with -v): bit 0x10 is "behind a NAT", the low bits the type.
var wantDebianExit = map[NAT]int{FullCone: 0x13, Restricted: 0x15, PortRestricted: 0x17, Symmetric: 0x18}

var (
	stunclientOnce sync.Once
	stunclientErr  error
)

// buildStunclient builds examples/stunclient into binDir.
func buildStunclient() (string, error) {
	bin := filepath.Join(binDir, "stunclient")
	stunclientOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "github.com/gonice/gonice/examples/stunclient").CombinedOutput()
		if err != nil {
			stunclientErr = fmt.Errorf("go build examples/stunclient: %v\n%s", err, out)
		}
	})
	return bin, stunclientErr
}

// primary returns the verdict of a "Primary: " line, without the tab
// Debian's client ends it with, or "" when there is none.
func primary(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Primary: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestNATTypeAgreement: behind each of the four NAT types, gonice's
// stunclient --nat-type and Debian's stun client, each against Debian's
// stund and against gonice's stunserver (two-address mode), give the same
// verdict, and it is the right one for the router's mode. Every client run
// gets a freshly built router and host, so no NAT state of an earlier run
// (mappings, the learned full-cone map, the restricted set) is left.
func TestNATTypeAgreement(t *testing.T) {
	if testing.Short() {
		t.Skip("natlab: skipped in -short mode")
	}
	var stun, stund string
	for _, b := range []struct {
		path *string
		name string
	}{{&stun, "stun"}, {&stund, "stund"}} {
		p, err := exec.LookPath(b.name)
		if err != nil {
			var err2 error // stund is in /usr/sbin, which a user's PATH may lack
			if p, err2 = exec.LookPath(filepath.Join("/usr/sbin", b.name)); err2 != nil {
				refuse(t, "%s not found (apt-get install -y stun-client stun-server): %v", b.name, err)
			}
		}
		*b.path = p
	}
	l := newLab(t)
	gonice, err := buildStunclient()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.StartStund(stund); err != nil {
		t.Fatal(err)
	}

	type client struct {
		name string
		args func(server string) []string
	}
	clients := []client{
		// --rto 100ms: the lab's round trip is well under 1 ms, and a test
		// the NAT blocks then ends after 0.7 s instead of 3.5 s.
		{"gonice", func(s string) []string { return []string{gonice, "--nat-type", "--rto", "100ms", s + ":3478"} }},
		{"debian", func(s string) []string { return []string{stun, s, "-v"} }},
	}
	// software is what Debian's client prints as the server's name
	// ("ServerName = ..."), proof of which server answered it.
	servers := []struct{ name, ip, software string }{
		{"stund", StundIP, "Vovida.org 0.97"},
		{"gonice", stunIP, "gonice stunserver"},
	}

	start := time.Now()
	header := fmt.Sprintf("%-15s %-20s %s", "router", "client/server", "verdict (Primary: line)")
	var rows []string
	for _, nat := range AllNATs {
		want := wantVerdict[nat]
		for _, srv := range servers {
			for _, c := range clients {
				if err := l.SetSite(1, Site{NAT: nat}); err != nil {
					t.Fatal(err)
				}
				t0 := time.Now()
				out, code, err := l.Exec("h1", 15*time.Second, c.args(srv.ip)...)
				took := time.Since(t0).Round(time.Millisecond)
				got := primary(out)
				rows = append(rows, fmt.Sprintf("%-15s %-20s %-75s exit %d, %v", nat, c.name+"/"+srv.name, got, code, took))
				switch {
				case err != nil:
					t.Errorf("%s, %s client, %s server: %v\n%s", nat, c.name, srv.name, err, out)
				case got != want:
					t.Errorf("%s, %s client, %s server: verdict %q, want %q\n%s", nat, c.name, srv.name, got, want, out)
				case c.name == "gonice" && code != 0:
					t.Errorf("%s, gonice client, %s server: exit status %d\n%s", nat, srv.name, code, out)
				case c.name == "debian" && code != wantDebianExit[nat]:
					t.Errorf("%s, debian client, %s server: exit status %#x, want %#x\n%s", nat, srv.name, code, wantDebianExit[nat], out)
				case c.name == "debian" && !strings.Contains(out, "ServerName = "+srv.software):
					t.Errorf("%s, debian client, %s server: no \"ServerName = %s\" in its output\n%s", nat, srv.name, srv.software, out)
				}
			}
		}
	}
	t.Logf("NAT-type agreement (%v):\n%s\n%s", time.Since(start).Round(time.Millisecond), header, strings.Join(rows, "\n"))
}
