/* SPDX-License-Identifier: MIT */
/*
 * check.h - the C tests' CHECK: a failed condition prints where it failed,
 * the condition and gonice's last error, then runs CHECK_FAIL (by default
 * exit(1); a test that must clean up first defines its own before including
 * this file).
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

#endif
