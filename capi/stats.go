// SPDX-License-Identifier: MIT

package main

/*
#include <stdlib.h>
#include "core_abi.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

//export goniceCoreGetStats
func goniceCoreGetStats(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, comp *C.GoniceComponentStats, pairs **C.GoniceCandidatePairStats) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		all, err := a.Stats(int(sid))
		if err != nil {
			return 0, err
		}
		if cid < 1 || int(cid) > len(all) {
			return 0, errf(C.GONICE_ENOTFOUND, "gonice: stream %d has no component %d", int(sid), int(cid))
		}
		cs := all[cid-1]
		if comp != nil {
			*comp = C.GoniceComponentStats{
				stream_id:                       C.uint(cs.StreamID),
				component_id:                    C.uint(cs.ComponentID),
				state:                           C.GoniceComponentState(cs.State),
				selected_candidate_pair_changes: C.uint64_t(cs.SelectedCandidatePairChanges),
				packets_sent:                    C.uint64_t(cs.PacketsSent),
				packets_received:                C.uint64_t(cs.PacketsReceived),
				bytes_sent:                      C.uint64_t(cs.BytesSent),
				bytes_received:                  C.uint64_t(cs.BytesReceived),
			}
			if cs.Controlling {
				comp.controlling = 1
			}
			putCString(&comp.selected_pair_id[0], C.GONICE_STATS_ID_LEN, cs.SelectedPairID)
		}
		if pairs != nil && len(cs.Pairs) > 0 {
			size := C.size_t(len(cs.Pairs)) * C.size_t(unsafe.Sizeof(C.GoniceCandidatePairStats{}))
			p := (*C.GoniceCandidatePairStats)(C.calloc(1, size))
			if p == nil {
				return 0, errf(C.GONICE_ENOMEM, "gonice: out of memory")
			}
			for i, ps := range cs.Pairs {
				pairToC(&unsafe.Slice(p, len(cs.Pairs))[i], &ps)
			}
			*pairs = p
		}
		return len(cs.Pairs), nil
	})
}

// pairToC fills a C pair's statistics from Go's.
func pairToC(d *C.GoniceCandidatePairStats, s *nice.CandidatePairStats) {
	putCString(&d.id[0], C.GONICE_STATS_ID_LEN, s.ID)
	putCString(&d.local_candidate_id[0], C.GONICE_STATS_ID_LEN, s.LocalCandidateID)
	putCString(&d.remote_candidate_id[0], C.GONICE_STATS_ID_LEN, s.RemoteCandidateID)
	switch s.State {
	case "waiting":
		d.state = C.GONICE_PAIR_STATE_WAITING
	case "in-progress":
		d.state = C.GONICE_PAIR_STATE_IN_PROGRESS
	case "succeeded":
		d.state = C.GONICE_PAIR_STATE_SUCCEEDED
	case "failed":
		d.state = C.GONICE_PAIR_STATE_FAILED
	default:
		d.state = C.GONICE_PAIR_STATE_FROZEN
	}
	if s.Nominated {
		d.nominated = 1
	}
	if s.Selected {
		d.selected = 1
	}
	d.priority = C.uint64_t(s.Priority)
	d.requests_sent = C.uint64_t(s.RequestsSent)
	d.retransmissions_sent = C.uint64_t(s.RetransmissionsSent)
	d.requests_received = C.uint64_t(s.RequestsReceived)
	d.responses_sent = C.uint64_t(s.ResponsesSent)
	d.responses_received = C.uint64_t(s.ResponsesReceived)
	d.consent_requests_sent = C.uint64_t(s.ConsentRequestsSent)
	d.current_round_trip_time = C.double(s.CurrentRoundTripTime.Seconds())
	d.total_round_trip_time = C.double(s.TotalRoundTripTime.Seconds())
	d.round_trip_time_measurements = C.uint64_t(s.RoundTripTimeMeasurements)
	d.packets_sent = C.uint64_t(s.PacketsSent)
	d.packets_received = C.uint64_t(s.PacketsReceived)
	d.bytes_sent = C.uint64_t(s.BytesSent)
	d.bytes_received = C.uint64_t(s.BytesReceived)
	d.last_packet_sent_timestamp = msSinceEpoch(s.LastPacketSentTimestamp)
	d.last_packet_received_timestamp = msSinceEpoch(s.LastPacketReceivedTimestamp)
	toC(&d.local, &s.Local)
	toC(&d.remote, &s.Remote)
}

func msSinceEpoch(t time.Time) C.double {
	if t.IsZero() {
		return 0
	}
	return C.double(float64(t.UnixMicro()) / 1e3)
}

//export goniceCoreGetStatsJSON
func goniceCoreGetStatsJSON(errbuf *C.char, h C.uintptr_t, sid C.uint, out **C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		js, err := a.StatsJSON(int(sid))
		if err != nil {
			return 0, err
		}
		*out = cString(string(js))
		return len(js), nil
	})
}
