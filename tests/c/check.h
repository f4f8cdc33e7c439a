/* SPDX-License-Identifier: MIT */
/*
 * check.h - the C tests' CHECK: a failed condition prints where it failed,
 * the condition and gonice's last error, then runs CHECK_FAIL (by default
 * exit(1); a test that must clean up first defines its own before including
 * this file); and check_signal, the signalling of a one-component pair.
 */
#ifndef GONICE_TEST_CHECK_H
#define GONICE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "gonice.h"

#ifndef CHECK_FAIL
#define CHECK_FAIL() exit(1)
#endif

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond,     \
              gonice_last_error());                                                                \
      CHECK_FAIL();                                                                                \
    }                                                                                              \
  } while (0)

/* check_signal gives stream to_sid of agent to the local credentials and
 * component 1's candidates of stream from_sid of agent from, as a
 * signalling channel would (the C tests' one-component pairs). Returns 0,
 * or -1 at the first call that failed (gonice_last_error says why): use
 * it as CHECK(check_signal(...) == 0). */
static inline int check_signal(GoniceAgent *from, int from_sid, GoniceAgent *to, int to_sid) {
  char *ufrag = NULL, *pwd = NULL;
  if (gonice_agent_get_local_credentials(from, (unsigned)from_sid, &ufrag, &pwd) != 0)
    return -1;
  int rc = gonice_agent_set_remote_credentials(to, (unsigned)to_sid, ufrag, pwd);
  gonice_free(ufrag);
  gonice_free(pwd);
  if (rc != 0)
    return -1;
  GoniceCandidate *cands = NULL;
  int n = gonice_agent_get_local_candidates(from, (unsigned)from_sid, 1, &cands);
  if (n < 1 || cands == NULL)
    return -1;
  rc = gonice_agent_set_remote_candidates(to, (unsigned)to_sid, 1, cands, (size_t)n);
  gonice_free(cands);
  return rc == n ? 0 : -1;
}

#endif
