/* SPDX-License-Identifier: MIT */
/*
 * fastpath.h - the part of a dispatch-mode agent's data path that the core
 * runs in C, so that the application's threads do not enter Go per packet
 * (capi/fastpath.c; ARCHITECTURE.md, "The C library", "Dispatch mode's data
 * path"). Private to the core.
 */
#ifndef GONICE_FASTPATH_H
#define GONICE_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

/* One queued datagram: received (for the receive callback) or to send. */
typedef struct FastItem {
  struct FastItem *next;
  unsigned int sid, cid, len;
  unsigned char data[];
} FastItem;

/* Where an item's bytes start (Go reads them in place). */
enum { FAST_ITEM_DATA_OFFSET = offsetof(FastItem, data) };

typedef struct FastPath FastPath;

/* For Go (capi/agent.go, capi/fastsend.go). */
FastPath *fast_new(uintptr_t h, int max_queued);
void fast_free(FastPath *fp);
void fast_ref(FastPath *fp);
void fast_put(FastPath *fp);
int fast_efd(FastPath *fp);
int fast_send_efd(FastPath *fp);
void fast_wake(FastPath *fp);
void fast_set_go_items(FastPath *fp, int pending);
int fast_push_recv(FastPath *fp, unsigned int sid, unsigned int cid, const void *p, unsigned int len);
int fast_set_recv(FastPath *fp, unsigned int sid, unsigned int cid, void *fn, void *ud);
int fast_set_send_ok(FastPath *fp, unsigned int sid, unsigned int cid, int ok);
void fast_clear_send_ok(FastPath *fp, unsigned int sid);
FastItem *fast_take_sends(FastPath *fp);
void fast_free_items(FastItem *it);

/* The core table's entries for gonice_agent_send and gonice_agent_dispatch
 * (capi/table.c). */
int fast_send(char *err, uintptr_t h, unsigned int sid, unsigned int cid, unsigned int len, void *buf);
int fast_dispatch(char *err, uintptr_t h);

#endif /* GONICE_FASTPATH_H */
