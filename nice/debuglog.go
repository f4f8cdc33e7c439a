// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// DebugEnv is the environment variable that switches the debug log on
// without a rebuild, as NICE_DEBUG does for libnice: "1", "all" or "yes"
// for every category, or a comma-separated list of categories (checks,
// state, gather, turn, consent); "", "0", "no" or "off" for none. Unknown
// names are reported once on standard error and ignored. docs/logging.md
// lists every event and its keys.
const DebugEnv = "GONICE_DEBUG"

// LogCategory is a set of debug log categories (Config.LogCategories,
// DebugEnv). Each debug event belongs to exactly one.
type LogCategory uint32

const (
	// LogChecks: connectivity checks sent, retransmitted, answered (with
	// the error code), timed out, triggered, nominated; role conflicts;
	// checks received.
	LogChecks LogCategory = 1 << iota
	// LogState: component state changes, pair state changes, the selected
	// pair.
	LogState
	// LogGather: local candidates, server-reflexive discovery, gathering
	// done.
	LogGather
	// LogTURN: TURN allocations, their refreshes, permissions, channels,
	// failures and release.
	LogTURN
	// LogConsent: keepalives, consent checks (RFC 7675) and their expiry.
	LogConsent

	// LogAll is every category.
	LogAll = LogChecks | LogState | LogGather | LogTURN | LogConsent
)

var logCategoryNames = [...]struct {
	c    LogCategory
	name string
}{{LogChecks, "checks"}, {LogState, "state"}, {LogGather, "gather"}, {LogTURN, "turn"}, {LogConsent, "consent"}}

// String returns the categories as DebugEnv names them: "checks,state",
// "all" or "none".
func (c LogCategory) String() string {
	switch c & LogAll {
	case 0:
		return "none"
	case LogAll:
		return "all"
	}
	var b strings.Builder
	for _, n := range logCategoryNames {
		if c&n.c != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// ParseLogCategories parses a value of DebugEnv. It returns the categories
// it recognised and an error naming the words it did not (the categories
// are still valid then).
func ParseLogCategories(s string) (LogCategory, error) {
	var c LogCategory
	var unknown []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch strings.ToLower(w) {
		case "1", "all", "yes", "true", "on":
			c |= LogAll
			continue
		case "0", "none", "no", "false", "off":
			continue
		}
		found := false
		for _, n := range logCategoryNames {
			if strings.EqualFold(w, n.name) {
				c |= n.c
				found = true
			}
		}
		if !found {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) > 0 {
		return c, fmt.Errorf("%w: %s: unknown debug categories %q (known: all, checks, state, gather, turn, consent)",
			ErrInvalidArgument, DebugEnv, unknown)
	}
	return c, nil
}

// envWarnOnce reports an unparsable DebugEnv once per process.
var envWarnOnce sync.Once

// debugFromEnv returns the categories DebugEnv asks for and whether it is
// set at all.
func debugFromEnv() (LogCategory, bool) {
	v, ok := os.LookupEnv(DebugEnv)
	if !ok {
		return 0, false
	}
	c, err := ParseLogCategories(v)
	if err != nil {
		envWarnOnce.Do(func() { fmt.Fprintf(os.Stderr, "gonice: %v\n", err) })
	}
	return c, true
}

// agentIDs numbers agents in the order they are made, for the "agent" key
// that tells the lines of several agents apart.
var agentIDs atomic.Uint64

// setupLogging resolves Config.Logger and Config.LogCategories into the
// agent's logger and its debug categories:
//   - no Logger: with DebugEnv set, a text handler on standard error at
//     debug level and DebugEnv's categories; else nothing is logged;
//   - a Logger: its handler decides the levels; the categories are
//     Config.LogCategories, or DebugEnv's when that is zero and DebugEnv is
//     set, or all. A handler not enabled for debug gets no debug event.
//
// Debug events cost one bit test each when their category is off.
func setupLogging(cfg Config) (*slog.Logger, LogCategory) {
	envCats, envSet := debugFromEnv()
	log := cfg.Logger
	cats := cfg.LogCategories
	if log == nil {
		if !envSet || envCats == 0 {
			return slog.New(slog.DiscardHandler), 0
		}
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if cats == 0 {
			cats = envCats
		}
	} else if cats == 0 {
		cats = LogAll
		if envSet {
			cats = envCats
		}
	}
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		cats = 0
	}
	return log.With("agent", agentIDs.Add(1)), cats & LogAll
}

// debugOn reports whether debug events of category c are logged.
func (a *Agent) debugOn(c LogCategory) bool { return a.dbg&c != 0 }

// logPair logs a debug event about pair p with the keys every pair event
// has (stream, component, pair, local, remote), then args. Callers check
// debugOn first, so that nothing is built when the category is off.
// Called on the loop.
func (a *Agent) logPair(msg string, p *pair, args ...any) {
	c := p.comp
	base := []any{"stream", c.s.id, "component", c.id, "pair", c.pairID(p), "local", p.local.c.Addr, "remote", p.remote.Addr}
	a.log.Debug(msg, append(base, args...)...)
}

// txID returns a transaction id as hex, for the "tx" key.
func txID(tx *transaction) string {
	const hexDigits = "0123456789abcdef"
	var b [2 * len(tx.id)]byte
	for i, v := range tx.id {
		b[2*i], b[2*i+1] = hexDigits[v>>4], hexDigits[v&15]
	}
	return string(b[:])
}
