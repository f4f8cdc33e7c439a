// SPDX-License-Identifier: MIT

package tests

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmePackages holds the README's Debian package list equal to what
// ./run setup full installs, and its C section to the ldconfig step a
// system prefix needs.
func TestReadmePackages(t *testing.T) {
	run, err := os.ReadFile("../run")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`for pkg in ([^;]+); do`).FindSubmatch(run)
	if m == nil {
		t.Fatal("run: no 'for pkg in ...; do' list in setup")
	}
	want := strings.Fields(string(m[1]))
	r := regexp.MustCompile("<!-- packages:[^\n]*-->\n```\n([^`]*)```").FindSubmatch(readme)
	if r == nil {
		t.Fatal("README.md: no package block after the '<!-- packages:' marker")
	}
	got := strings.Fields(string(r[1]))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("README.md lists\n  %s\nbut ./run setup full installs\n  %s", strings.Join(got, " "), strings.Join(want, " "))
	}
	if !regexp.MustCompile(`cmake --install build --prefix /usr/local\nldconfig`).Match(readme) {
		t.Error("README.md: the C section does not run ldconfig right after cmake --install to /usr/local")
	}
	if !strings.Contains(string(readme), "`./run setup full` installs it") {
		t.Error("README.md does not say that ./run setup full installs cmake")
	}
}
