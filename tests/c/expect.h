/* SPDX-License-Identifier: MIT */
/*
 * expect.h - the bad-input tests' EXPECT: a call returns exactly the code
 * wanted, and a failure leaves a non-empty last error; ncases and nfail
 * count the cases and the failures (one test program per file).
 */
#ifndef GONICE_TEST_EXPECT_H
#define GONICE_TEST_EXPECT_H

#include <stdio.h>

#include "gonice.h"

static int ncases, nfail;

/* EXPECT(call, code): call returns exactly code, and a failure leaves a
 * non-empty last error. */
#define EXPECT(call, code)                                                                         \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    ncases++;                                                                                      \
    if (rc_ != (code)) {                                                                           \
      fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s); last error: %s\n", __FILE__, __LINE__,   \
              #call, rc_, gonice_strerror(rc_), (int)(code), gonice_strerror(code),                \
              gonice_last_error());                                                                \
      nfail++;                                                                                     \
    } else if (rc_ < 0 && gonice_last_error()[0] == '\0') {                                        \
      fprintf(stderr, "%s:%d: %s: no last error\n", __FILE__, __LINE__, #call);                    \
      nfail++;                                                                                     \
    }                                                                                              \
  } while (0)

#endif
