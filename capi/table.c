/* SPDX-License-Identifier: MIT */
/*
 * table.c - the core's one exported symbol: gonice_core_table() returns the
 * table of the Go functions of exports.go (core_abi.h). Part of the Go core
 * (compiled by cgo); the loader (loader/gonice.c) resolves it with dlsym.
 */
#include "_cgo_export.h"
#include "core_abi.h"

static const GoniceCoreTable table = {
    .abi_version = GONICE_CORE_ABI_VERSION,
    .size = sizeof(GoniceCoreTable),
    .agent_new = goniceCoreAgentNew,
    .agent_free = goniceCoreAgentFree,
    .agent_close_async = goniceCoreAgentCloseAsync,
    .set_prop_int = goniceCoreSetPropInt,
    .set_prop_str = goniceCoreSetPropStr,
    .get_controlling = goniceCoreGetControlling,
    .add_local_address = goniceCoreAddLocalAddress,
    .add_stream = goniceCoreAddStream,
    .remove_stream = goniceCoreRemoveStream,
    .set_port_range = goniceCoreSetPortRange,
    .gather = goniceCoreGather,
    .get_local_credentials = goniceCoreGetLocalCredentials,
    .set_credentials = goniceCoreSetCredentials,
    .get_candidates = goniceCoreGetCandidates,
    .set_remote_candidates = goniceCoreSetRemoteCandidates,
    .peer_gathering_done = goniceCorePeerGatheringDone,
    .restart = goniceCoreRestart,
    .get_selected_pair = goniceCoreGetSelectedPair,
    .get_component_state = goniceCoreGetComponentState,
    .consent_lost = goniceCoreConsentLost,
    .set_stream_name = goniceCoreSetStreamName,
    .get_stream_name = goniceCoreGetStreamName,
    .generate_sdp = goniceCoreGenerateSDP,
    .parse_remote_sdp = goniceCoreParseRemoteSDP,
    .parse_remote_stream_sdp = goniceCoreParseRemoteStreamSDP,
    .parse_remote_candidate_sdp = goniceCoreParseRemoteCandidateSDP,
    .send = goniceCoreSend,
    .send_messages = goniceCoreSendMessages,
    .attach_recv = goniceCoreAttachRecv,
    .recv = goniceCoreRecv,
    .connect = goniceCoreConnect,
    .get_fd = goniceCoreGetFd,
    .dispatch = goniceCoreDispatch,
    .set_relay_info = goniceCoreSetRelayInfo,
    .forget_relays = goniceCoreForgetRelays,
    .set_stream_tos = goniceCoreSetStreamTOS,
};

__attribute__((visibility("default"))) const GoniceCoreTable *gonice_core_table(void) {
  return &table;
}
