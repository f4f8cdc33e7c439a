/* SPDX-License-Identifier: MIT */
/*
 * table.c - the core's one exported symbol: gonice_core_table() returns the
 * table of the Go functions of exports.go (the GONICE_CORE lines of
 * functions.h). Part of the Go core (compiled by cgo); the loader
 * (loader/gonice.c) resolves it with dlsym.
 */
#include "_cgo_export.h"
#include "core_abi.h"
#include "fastpath.h"

/* Each Go function has its entry's type exactly (cgo would only warn). */
#define GONICE_CORE(entry, export, params)                                                         \
  _Static_assert(__builtin_types_compatible_p(__typeof__(&export), int(*) params),                 \
                 #export " does not match its line in functions.h");
#include "functions.h"

/* gonice_agent_send and gonice_agent_dispatch go to fastpath.c first, which
 * calls the Go functions when it cannot answer in C. */
_Static_assert(__builtin_types_compatible_p(__typeof__(&fast_send), __typeof__(&goniceCoreSend)),
               "fast_send does not match goniceCoreSend");
_Static_assert(__builtin_types_compatible_p(__typeof__(&fast_dispatch), __typeof__(&goniceCoreDispatch)),
               "fast_dispatch does not match goniceCoreDispatch");

static GoniceCoreTable table = {
    .abi_version = GONICE_CORE_ABI_VERSION,
    .size = sizeof(GoniceCoreTable),
#define GONICE_CORE(entry, export, params) .entry = export,
#include "functions.h"
};

__attribute__((visibility("default"))) const GoniceCoreTable *gonice_core_table(void) {
  table.send = fast_send;
  table.dispatch = fast_dispatch;
  return &table;
}
