// SPDX-License-Identifier: MIT

package nice_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
	"github.com/gonice/gonice/nice/nicetest"
)

// The known exchange of the statistics tests: A sends nA datagrams of lenA
// bytes to B, B sends nB of lenB to A.
const (
	nA, lenA = 7, 100
	nB, lenB = 3, 40
)

// TestStatsKnownExchange: two agents on the in-memory network, 10 ms of
// delay per host link, one host candidate each: after the connect, the
// exchange and two consent rounds, every counter of the selected pairs is
// what the exchange implies, and one side's "sent" is the other's
// "received".
func TestStatsKnownExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		mk := func(ip string, controlling bool) (*nice.Agent, int, *int) {
			h := n.NewHost(netip.MustParseAddr(ip))
			h.SetDelay(10 * time.Millisecond)
			a, err := nice.NewAgent(nice.Config{Net: h, Controlling: controlling})
			if err != nil {
				t.Fatal(err)
			}
			sid, _ := a.AddStream(1)
			got := new(int)
			if err := a.AttachRecv(sid, 1, func(_, _ int, p []byte) { *got += len(p) }); err != nil {
				t.Fatal(err)
			}
			if err := a.GatherCandidates(sid); err != nil {
				t.Fatal(err)
			}
			return a, sid, got
		}
		a, sa, gotA := mk("10.0.0.1", true)
		b, sb, gotB := mk("10.0.0.2", false)
		defer a.Close()
		defer b.Close()
		synctest.Wait()
		agentpair.Exchange(t, a, b, sa, sb, 1)
		agentpair.Exchange(t, b, a, sb, sa, 1)
		time.Sleep(time.Second)
		synctest.Wait()
		for i := range nA {
			if _, err := a.Send(sa, 1, make([]byte, lenA)); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		for i := range nB {
			if _, err := b.Send(sb, 1, make([]byte, lenB)); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if *gotB != nA*lenA || *gotA != nB*lenB {
			t.Fatalf("received %d and %d bytes, want %d and %d", *gotB, *gotA, nA*lenA, nB*lenB)
		}
		// Consent rounds (RFC 7675: every 4–6 s, here on the 200 ms grid
		// of keepaliveSlack): stop 100 ms off the grid, so that no consent
		// check is in flight when the counters are read.
		time.Sleep(12*time.Second + 100*time.Millisecond)
		synctest.Wait()

		stA, stB := stats1(t, a, sa), stats1(t, b, sb)
		pa, pb := selected(t, stA), selected(t, stB)
		for _, c := range []struct {
			name      string
			got, want uint64
		}{
			{"A packetsSent", pa.PacketsSent, nA}, {"A bytesSent", pa.BytesSent, nA * lenA},
			{"A packetsReceived", pa.PacketsReceived, nB}, {"A bytesReceived", pa.BytesReceived, nB * lenB},
			{"B packetsSent", pb.PacketsSent, nB}, {"B bytesSent", pb.BytesSent, nB * lenB},
			{"B packetsReceived", pb.PacketsReceived, nA}, {"B bytesReceived", pb.BytesReceived, nA * lenA},
			{"A component packetsSent", stA.PacketsSent, nA}, {"A component bytesReceived", stA.BytesReceived, nB * lenB},
			{"B component packetsSent", stB.PacketsSent, nB}, {"B component bytesReceived", stB.BytesReceived, nA * lenA},
			// The connect: both start checking the one pair at once. A's
			// check reaches B while B's is in progress and B's reaches A
			// while A's is: each checks again at once (RFC 8445 §7.3.1.4),
			// which replaces its first check; then A (controlling,
			// regular nomination) nominates with a third. No loss: nothing
			// is retransmitted.
			{"A requestsSent", pa.RequestsSent, 3}, {"B requestsSent", pb.RequestsSent, 2},
			{"A retransmissionsSent", pa.RetransmissionsSent, 0}, {"B retransmissionsSent", pb.RetransmissionsSent, 0},
			// What one sends, the other receives and answers.
			{"B requestsReceived", pb.RequestsReceived, pa.RequestsSent + pa.ConsentRequestsSent},
			{"A requestsReceived", pa.RequestsReceived, pb.RequestsSent + pb.ConsentRequestsSent},
			{"B responsesSent", pb.ResponsesSent, pb.RequestsReceived},
			{"A responsesSent", pa.ResponsesSent, pa.RequestsReceived},
			// Every answer comes back, but the answer to a replaced check
			// matches no transaction any more and is not counted.
			{"A responsesReceived", pa.ResponsesReceived, pa.RequestsSent + pa.ConsentRequestsSent - 1},
			{"B responsesReceived", pb.ResponsesReceived, pb.RequestsSent + pb.ConsentRequestsSent - 1},
			{"A roundTripTimeMeasurements", pa.RoundTripTimeMeasurements, pa.ResponsesReceived},
			{"A selectedCandidatePairChanges", stA.SelectedCandidatePairChanges, 1},
		} {
			if c.got != c.want {
				t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
			}
		}
		// Consent: every 4–6 s for about 14 s of READY.
		for _, c := range []uint64{pa.ConsentRequestsSent, pb.ConsentRequestsSent} {
			if c < 2 || c > 3 {
				t.Errorf("consentRequestsSent = %d, want 2 or 3 in 14 s", c)
			}
		}
		// 10 ms each way on each host link: a round trip is 40 ms.
		if pa.CurrentRoundTripTime != 40*time.Millisecond || pa.TotalRoundTripTime != time.Duration(pa.RoundTripTimeMeasurements)*40*time.Millisecond {
			t.Errorf("A round trip current %v total %v over %d, want 40ms each", pa.CurrentRoundTripTime, pa.TotalRoundTripTime, pa.RoundTripTimeMeasurements)
		}
		if pa.State != "succeeded" || !pa.Nominated || pb.State != "succeeded" || !pb.Nominated {
			t.Errorf("pairs %+v / %+v: want succeeded and nominated", pa, pb)
		}
		if pa.LastPacketSentTimestamp.IsZero() || pa.LastPacketReceivedTimestamp.Before(pa.LastPacketSentTimestamp) {
			t.Errorf("A last sent %v, last received %v: want both, received after sent", pa.LastPacketSentTimestamp, pa.LastPacketReceivedTimestamp)
		}
		if stA.State != nice.ComponentStateReady || !stA.Controlling || stB.Controlling {
			t.Errorf("component A %v controlling %v, B controlling %v", stA.State, stA.Controlling, stB.Controlling)
		}
		// The pair names its candidates, which are listed.
		if len(stA.LocalCandidates) != 1 || stA.LocalCandidates[0].ID != pa.LocalCandidateID ||
			len(stA.RemoteCandidates) != 1 || stA.RemoteCandidates[0].ID != pa.RemoteCandidateID ||
			pa.ID != "CP"+pa.LocalCandidateID+"_"+pa.RemoteCandidateID {
			t.Errorf("pair %s (%s, %s); candidates %+v %+v", pa.ID, pa.LocalCandidateID, pa.RemoteCandidateID, stA.LocalCandidates, stA.RemoteCandidates)
		}
		l := stA.LocalCandidates[0]
		if l.Address != netip.MustParseAddr("10.0.0.1") || l.CandidateType != "host" || l.Protocol != "udp" || !l.Local ||
			stA.RemoteCandidates[0].Address != netip.MustParseAddr("10.0.0.2") {
			t.Errorf("candidates %+v %+v", l, stA.RemoteCandidates[0])
		}

		// The JSON has the same numbers and validates against the schema.
		js, err := a.StatsJSON(sa)
		if err != nil {
			t.Fatal(err)
		}
		validateStatsJSON(t, js)
		var doc struct {
			Components []struct {
				SelectedCandidatePairID string `json:"selectedCandidatePairId"`
				CandidatePairs          []struct {
					ID                   string  `json:"id"`
					PacketsSent          uint64  `json:"packetsSent"`
					BytesReceived        uint64  `json:"bytesReceived"`
					RequestsSent         uint64  `json:"requestsSent"`
					CurrentRoundTripTime float64 `json:"currentRoundTripTime"`
				} `json:"candidatePairs"`
			} `json:"components"`
		}
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		jp := doc.Components[0].CandidatePairs[0]
		if doc.Components[0].SelectedCandidatePairID != pa.ID || jp.ID != pa.ID || jp.PacketsSent != nA ||
			jp.BytesReceived != nB*lenB || jp.RequestsSent != 3 || math.Abs(jp.CurrentRoundTripTime-0.040) > 1e-9 {
			t.Errorf("JSON %s disagrees with %+v", js, pa)
		}
	})
}

// TestStatsLoopback: the same counters with real sockets, and through
// SendMessages.
func TestStatsLoopback(t *testing.T) {
	a, b, sa, sb := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{})
	got := make(chan int, 64)
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- len(p) }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 1, make([]byte, lenA)); err != nil {
		t.Fatal(err)
	}
	if n, err := a.SendMessages(sa, 1, [][]byte{make([]byte, lenA), make([]byte, lenB)}); n != 2 || err != nil {
		t.Fatalf("SendMessages = %d, %v", n, err)
	}
	total := 0
	for range 3 {
		select {
		case n := <-got:
			total += n
		case <-time.After(10 * time.Second):
			t.Fatal("datagram lost on loopback")
		}
	}
	pa, pb := selected(t, stats1(t, a, sa)), selected(t, stats1(t, b, sb))
	if pa.PacketsSent != 3 || pa.BytesSent != 2*lenA+lenB || pb.PacketsReceived != 3 || pb.BytesReceived != uint64(total) {
		t.Errorf("A sent %d/%d, B received %d/%d; want 3/%d both", pa.PacketsSent, pa.BytesSent, pb.PacketsReceived, pb.BytesReceived, 2*lenA+lenB)
	}
	js, err := b.StatsJSON(sb)
	if err != nil {
		t.Fatal(err)
	}
	validateStatsJSON(t, js)
	if _, err := a.Stats(99); err == nil {
		t.Error("Stats of an unknown stream: no error")
	}
}

func stats1(t *testing.T, a *nice.Agent, sid int) nice.ComponentStats {
	t.Helper()
	st, err := a.Stats(sid)
	if err != nil || len(st) != 1 {
		t.Fatalf("Stats = %v, %v", st, err)
	}
	return st[0]
}

func selected(t *testing.T, st nice.ComponentStats) nice.CandidatePairStats {
	t.Helper()
	i := slices.IndexFunc(st.Pairs, func(p nice.CandidatePairStats) bool { return p.Selected })
	if i < 0 || st.SelectedPairID != st.Pairs[i].ID {
		t.Fatalf("no selected pair in %+v", st)
	}
	return st.Pairs[i]
}

// validateStatsJSON checks js against docs/stats.schema.json, with a
// validator of the keywords that schema uses (type, enum, required,
// properties, additionalProperties: false, items, minimum, maximum,
// minLength, $ref to #/$defs).
func validateStatsJSON(t *testing.T, js []byte) {
	t.Helper()
	raw, err := os.ReadFile("../docs/stats.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	var doc any
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	if err := validate(schema, schema, doc, "$"); err != nil {
		t.Fatalf("the statistics do not match docs/stats.schema.json: %v\n%s", err, js)
	}
}

func validate(root, s map[string]any, v any, path string) error {
	if ref, ok := s["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			return fmt.Errorf("%s: unsupported $ref %q", path, ref)
		}
		return validate(root, root["$defs"].(map[string]any)[name].(map[string]any), v, path)
	}
	for k := range s {
		switch k {
		case "$schema", "$id", "title", "$defs", "type", "enum", "required", "properties",
			"additionalProperties", "items", "minimum", "maximum", "minLength":
		default:
			return fmt.Errorf("%s: schema keyword %q is not supported by this validator", path, k)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		if !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
			return fmt.Errorf("%s: %v is not one of %v", path, v, e)
		}
	}
	switch s["type"] {
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", path)
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range s["required"].([]any) {
			if _, ok := o[r.(string)]; !ok {
				return fmt.Errorf("%s: %q is missing", path, r)
			}
		}
		for k, x := range o {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					return fmt.Errorf("%s: %q is not in the schema", path, k)
				}
				continue
			}
			if err := validate(root, ps, x, path+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", path)
		}
		for i, x := range a {
			if err := validate(root, s["items"].(map[string]any), x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: not a string", path)
		}
		if m, ok := s["minLength"].(float64); ok && float64(len(str)) < m {
			return fmt.Errorf("%s: %q is shorter than %v", path, str, m)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: not a boolean", path)
		}
	case "integer", "number":
		num, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: not a number", path)
		}
		f, err := num.Float64()
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if s["type"] == "integer" && strings.ContainsAny(num.String(), ".eE") {
			return fmt.Errorf("%s: %v is not an integer", path, num)
		}
		if m, ok := s["minimum"].(float64); ok && f < m {
			return fmt.Errorf("%s: %v < %v", path, f, m)
		}
		if m, ok := s["maximum"].(float64); ok && f > m {
			return fmt.Errorf("%s: %v > %v", path, f, m)
		}
	case nil: // enum only
	default:
		return fmt.Errorf("%s: unsupported type %v", path, s["type"])
	}
	return nil
}

// TestStatsSchemaValidator: the validator refuses what the schema does not
// allow, so that the tests above can fail.
func TestStatsSchemaValidator(t *testing.T) {
	good := `{"timestamp":1,"stream":1,"components":[]}`
	validateStatsJSON(t, []byte(good))
	raw, _ := os.ReadFile("../docs/stats.schema.json")
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"timestamp":1,"stream":1}`,
		`{"timestamp":1,"stream":1,"components":[],"extra":1}`,
		`{"timestamp":1,"stream":1.5,"components":[]}`,
		`{"timestamp":1,"stream":1,"components":[{"component":1,"state":"bogus","iceRole":"controlled","selectedCandidatePairChanges":0,"packetsSent":0,"packetsReceived":0,"bytesSent":0,"bytesReceived":0,"candidatePairs":[],"localCandidates":[],"remoteCandidates":[]}]}`,
		`{"timestamp":1,"stream":1,"components":[{"component":1,"state":"ready","iceRole":"controlled","selectedCandidatePairChanges":0,"packetsSent":-1,"packetsReceived":0,"bytesSent":0,"bytesReceived":0,"candidatePairs":[],"localCandidates":[],"remoteCandidates":[]}]}`,
		`{"timestamp":1,"stream":1,"components":[{"component":1,"state":"ready","iceRole":"controlled","selectedCandidatePairChanges":0,"packetsSent":0,"packetsReceived":0,"bytesSent":0,"bytesReceived":0,"candidatePairs":[],"localCandidates":[{"type":"local-candidate","id":"L1","address":"x","port":1,"protocol":"udp","candidateType":"nope","priority":1,"foundation":"1"}],"remoteCandidates":[]}]}`,
	} {
		var doc any
		dec := json.NewDecoder(strings.NewReader(bad))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if validate(schema, schema, doc, "$") == nil {
			t.Errorf("the validator accepts %s", bad)
		}
	}
}
